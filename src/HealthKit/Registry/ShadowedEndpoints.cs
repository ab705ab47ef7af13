// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Probing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthKit.Registry;

/// <summary>
/// Warns once at start about each endpoint the app maps on one of HealthKit's paths (<c>app.MapHealthChecks("/health")</c>,
/// <c>MapGet("/health/live", ...)</c>): HealthKit answers those paths in front of routing, so the app's endpoint never
/// runs, and without this line nothing says so. The endpoints are read from <see cref="EndpointDataSource"/> after the
/// host has started (the pipeline, and with it every data source, is built during start), with HealthKit's other
/// start-up work: listing MVC or Razor Pages endpoints costs what the first request would pay anyway, but not on the
/// start path and not beside the first request.
/// </summary>
internal sealed partial class ShadowedEndpoints(IServiceProvider services, ProbeRoute paths, ILogger<ShadowedEndpoints> logger)
    : StartedReport
{
    protected override void Report()
    {
        // A worker or generic host has no routing at all: nothing to read.
        if (services.GetService<EndpointDataSource>() is { } endpoints)
        {
            Warn(endpoints);
        }
    }

    private void Warn(EndpointDataSource endpoints)
    {
        IReadOnlyList<Endpoint> all;
        try
        {
            all = endpoints.Endpoints;
        }
#pragma warning disable CA1031 // A data source that fails to build fails the app's own first request too, with its own error; this advice is not worth a second one.
        catch (Exception)
#pragma warning restore CA1031
        {
            return;
        }

        foreach (var endpoint in all)
        {
            if (endpoint is RouteEndpoint route && route.RoutePattern.Parameters.Count == 0 && route.RoutePattern.RawText is { } raw)
            {
                var path = raw.StartsWith('/') ? raw : "/" + raw;
                if (paths.Match(new PathString(path)) != ProbeKind.None)
                {
                    Log.EndpointShadowed(logger, endpoint.DisplayName ?? path, path);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 112, EventName = "EndpointShadowed", Level = LogLevel.Warning,
            Message = "The app maps endpoint '{Endpoint}' on {Path}, which HealthKit answers before routing: that endpoint never runs. Move HealthKit's probes with DeployHealth:Path (DeployHealth__Path=/healthkit, for example) or map the endpoint on another path.")]
        public static partial void EndpointShadowed(ILogger logger, string endpoint, string path);
    }
}

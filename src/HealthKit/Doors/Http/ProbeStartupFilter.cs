// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Doors.Grpc;
using HealthKit.Lifecycle;
using HealthKit.Safety;
using HealthKit.Smoke;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Http;

/// <summary>
/// Puts <see cref="ProbeMiddleware"/> in front of everything else, then the gRPC door, the start-up trigger and the
/// forwarded-headers watch, and <see cref="StatusPageMiddleware"/> behind it all. Registered as the first service of the
/// collection: the host composes startup filters so that the first registered one wraps all the others.
/// </summary>
internal sealed partial class ProbeStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next)
    {
        return app =>
        {
            WarnAboutFiltersInFront(app.ApplicationServices);
            app.UseMiddleware<ProbeMiddleware>();

            // Behind the probe door, so probes never reach them; still in front of host filtering and authentication.
            app.UseMiddleware<StartupTriggerMiddleware>();
            app.UseMiddleware<GrpcHealthMiddleware>();
            app.UseMiddleware<ForwardedHeadersWatchMiddleware>();

            // What a smoke render goes through: the app's own pipeline, none of HealthKit's doors (returns next itself,
            // so it costs a request nothing).
            var pipeline = app.ApplicationServices.GetRequiredService<AppPipeline>();
            app.Use(inner =>
            {
                pipeline.Capture(inner);
                return inner;
            });
            next(app);

            // After the app's own middleware: reached only when the app's pipeline falls through (where it would
            // answer 404), so the status page meets host filtering, HTTPS redirection and authorization first.
            app.UseMiddleware<StatusPageMiddleware>();
        };
    }

    private static void WarnAboutFiltersInFront(IServiceProvider services)
    {
        List<string>? inFront = null;
        foreach (var filter in services.GetServices<IStartupFilter>())
        {
            if (filter is ProbeStartupFilter)
            {
                break;
            }

            (inFront ??= []).Add(filter.GetType().FullName ?? filter.GetType().Name);
        }

        if (inFront is not null)
        {
            var logger = services.GetRequiredService<ILogger<ProbeStartupFilter>>();
            Log.FiltersInFront(logger, string.Join(", ", inFront));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "StartupFilterInFront", Level = LogLevel.Warning,
            Message = "Startup filters registered in front of HealthKit's run before its probe endpoint and may answer probes first (for example with 400 for an IP Host header or a redirect): {Filters}. Call AddDeployHealth() after the code that inserts them, or insert them after HealthKit.")]
        public static partial void FiltersInFront(ILogger logger, string filters);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.Grpc;

/// <summary>
/// Once the server listens, warns when every endpoint speaks HTTP/2 only, as <c>dotnet new grpc</c> configures
/// (<c>Kestrel:EndpointDefaults:Protocols=Http2</c>): gRPC probes reach HealthKit, but every HTTP/1.x prober gets
/// 400 from Kestrel before any middleware runs, and the instance never enters an HTTP target group. The protocols are
/// read from the configuration Kestrel itself loads; endpoints set up in code (<c>Listen</c>) are not visible there,
/// so an app that sets its protocols only in code gets no warning rather than a wrong one.
/// </summary>
/// <remarks>
/// The server is looked up when the host has started, not injected: a generic host (the worker template) has no
/// <see cref="IServer"/>, and a constructor that required one would stop such a host at start.
/// </remarks>
internal sealed partial class Http2OnlyWarning(
    IServiceProvider services,
    IOptions<KestrelServerOptions> kestrel,
    ILogger<Http2OnlyWarning> logger) : StartedReport
{
    protected override void Report()
    {
        var addresses = (services.GetService(typeof(IServer)) as IServer)?.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0)
        {
            // No server (a worker), TestServer and servers that listen on no TCP address: no prober connects to them.
            return;
        }

        if (ConfiguredProtocols(kestrel.Value.ConfigurationLoader?.Configuration) is { } protocols && IsHttp2Only(protocols))
        {
            Log.Http2Only(logger, string.Join(", ", addresses), string.Join(", ", protocols));
        }
    }

    /// <summary>
    /// The protocols of each endpoint as Kestrel's configuration sets them: an endpoint's own <c>Protocols</c>, else
    /// <c>EndpointDefaults:Protocols</c>; with no configured endpoints (the URLs come from <c>ASPNETCORE_URLS</c> or
    /// <c>UseUrls</c>), the defaults alone. <see langword="null"/> when nothing says or a value does not parse.
    /// </summary>
    internal static List<HttpProtocols>? ConfiguredProtocols(IConfiguration? kestrelSection)
    {
        if (kestrelSection is null)
        {
            return null;
        }

        var defaults = kestrelSection["EndpointDefaults:Protocols"];
        var result = new List<HttpProtocols>();
        foreach (var endpoint in kestrelSection.GetSection("Endpoints").GetChildren())
        {
            if (endpoint["Url"] is null)
            {
                continue;
            }

            if (!TryParse(endpoint["Protocols"] ?? defaults, out var protocols))
            {
                return null;
            }

            result.Add(protocols);
        }

        if (result.Count == 0)
        {
            if (!TryParse(defaults, out var protocols))
            {
                return null;
            }

            result.Add(protocols);
        }

        return result;
    }

    private static bool IsHttp2Only(List<HttpProtocols> protocols)
    {
        foreach (var endpoint in protocols)
        {
            if ((endpoint & HttpProtocols.Http1) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParse(string? value, out HttpProtocols protocols)
    {
        // Kestrel's default when nothing is configured: HTTP/1.1 and HTTP/2, which is never HTTP/2 only.
        if (string.IsNullOrWhiteSpace(value))
        {
            protocols = HttpProtocols.Http1AndHttp2;
            return true;
        }

        return Enum.TryParse(value, ignoreCase: true, out protocols);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 220, EventName = "Http2OnlyEndpoints", Level = LogLevel.Warning,
            Message = "Every endpoint speaks HTTP/2 only ({Addresses}; Kestrel protocols {Protocols}). gRPC health checks reach HealthKit: Kubernetes grpc probes, AWS ALB gRPC health checks and other h2c or HTTP/2 probers calling grpc.health.v1.Health. HTTP/1.x probes cannot: Kubernetes httpGet, ALB/ELB HTTP health checks, HAProxy, nginx, Varnish, Caddy and Apache checks and the --health-probe command get 400 from Kestrel before any middleware. To serve them, add an HTTP/1 endpoint next to the app's own (Kestrel:Endpoints:Probes:Url = http://*:8081 and Kestrel:Endpoints:Probes:Protocols = Http1, or Kestrel__Endpoints__Probes__Url and Kestrel__Endpoints__Probes__Protocols; with configured endpoints Kestrel ignores ASPNETCORE_URLS, so list the app's endpoint there too), or set DeployHealth:ProbeListener:Port for a probe port of HealthKit's own.")]
        public static partial void Http2Only(ILogger logger, string addresses, string protocols);
    }
}

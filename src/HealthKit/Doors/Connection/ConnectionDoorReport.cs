// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Connection;

/// <summary>
/// Once the server has bound its endpoints, says when Kestrel built none of them with the connection door: the app
/// replaced Kestrel's endpoint defaults (<c>ConfigureEndpointDefaults</c> keeps one action), so HTTP/1.1 probes without
/// Host get Kestrel's 400 again.
/// </summary>
internal sealed partial class ConnectionDoorReport : StartedReport
{
    private readonly ConnectionDoor _door;
    private readonly IServiceProvider _services;
    private readonly ILogger<ConnectionDoorReport> _logger;

    public ConnectionDoorReport(ConnectionDoor door, IServiceProvider services, ILogger<ConnectionDoorReport> logger)
    {
        _door = door;
        _services = services;
        _logger = logger;
    }

    protected override void Report()
    {
        // Only Kestrel has connection middleware; TestServer, HTTP.sys and workers have nothing to report.
        if (_services.GetService(typeof(IServer)) is IServer server
            && server.GetType().Name.StartsWith("KestrelServer", StringComparison.Ordinal)
            && server.Features.Get<IServerAddressesFeature>() is { Addresses.Count: > 0 } addresses
            && _door.Endpoints == 0)
        {
            Log.DoorMissing(_logger, string.Join(", ", addresses.Addresses));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 201, EventName = "ConnectionDoorMissing", Level = LogLevel.Warning,
            Message = "No Kestrel endpoint ({Addresses}) has HealthKit's connection door: the app's KestrelServerOptions.ConfigureEndpointDefaults replaced HealthKit's, so HTTP/1.1 probes without a Host header (HAProxy 'http-check send ... ver HTTP/1.1' without 'hdr host', Varnish '.request' without Host) get Kestrel's 400. Set the endpoint defaults before AddDeployHealth() is called, or give those probes a Host header.")]
        public static partial void DoorMissing(ILogger logger, string addresses);
    }
}

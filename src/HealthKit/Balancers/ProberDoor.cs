// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>The door a prober came through, as the ledger and the status page name it.</summary>
internal enum ProberDoor
{
    /// <summary>HealthKit's first middleware on the application's port, probe paths and the app's own paths alike.</summary>
    Http,

    /// <summary>Kestrel's connection level: an HTTP/1.1 probe without <c>Host</c>.</summary>
    Connection,

    /// <summary>HealthKit's own probe listener (<c>DeployHealth:ProbeListener:Port</c>).</summary>
    ProbePort,

    /// <summary><c>grpc.health.v1.Health</c> and ALB's gRPC check.</summary>
    Grpc,

    /// <summary>The HAProxy <c>agent-check</c> listener.</summary>
    Agent,
}

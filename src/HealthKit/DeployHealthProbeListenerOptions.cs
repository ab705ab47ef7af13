// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// HealthKit's own probe listener, under <c>DeployHealth:ProbeListener</c>: a tiny HTTP/1.x responder on a thread of
/// its own that answers <c>{Path}</c>, <c>{Path}/</c>, <c>{Path}/ready</c> and <c>{Path}/live</c> (GET, HEAD, OPTIONS)
/// even when the thread pool is starved and the main port cannot answer, and that gives a worker without a web server
/// real probes. Readiness comes from the last evaluation, re-run in the background while the listener is on.
/// </summary>
public sealed class DeployHealthProbeListenerOptions
{
    /// <summary>Gets or sets the TCP port the probe listener binds to.</summary>
    /// <value>The default is <see langword="null"/>: no listener.</value>
    public int? Port { get; set; }

    /// <summary>Gets or sets the IP address the probe listener binds to.</summary>
    /// <value>
    /// The default is <c>0.0.0.0</c> (all IPv4 interfaces), because balancers and kubelets probe from other hosts.
    /// Only a loopback address (<c>127.0.0.1</c>, <c>::1</c>) lets <see cref="DetailsForLoopback"/> give details.
    /// </value>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>
    /// Gets or sets whether callers of the probe listener get details (the full readiness document and the status
    /// page at <c>{Path}/ui</c>) without authentication, when the listener is bound to loopback (<see cref="Port"/>
    /// set, <see cref="Address"/> <c>127.0.0.1</c> or <c>::1</c>). Never on the application's own endpoints: a
    /// forwarder on the same host (HAProxy <c>mode tcp</c>, stunnel, socat, <c>ssh -L</c>) or a request forgery in the
    /// app makes any request arrive from loopback, with or without headers.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DetailsForLoopback { get; set; }
}

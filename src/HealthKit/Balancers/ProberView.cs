// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;

namespace HealthKit.Balancers;

/// <summary>One prober as the ledger saw it at one moment: who, where, how often, and what it was last answered.</summary>
/// <param name="Id">The ledger's number for this prober, never reused within the process.</param>
/// <param name="Door">The door it probes.</param>
/// <param name="Peer">The address its connections come from, when the door knows it.</param>
/// <param name="UserAgent">Its <c>User-Agent</c> (at most 128 characters), or empty.</param>
/// <param name="Path">The path it asks for (at most 128 characters), or what the door calls its question.</param>
/// <param name="Kind">Which balancer it looks like.</param>
/// <param name="Role">Whether it asks readiness, liveness or one of the app's paths.</param>
/// <param name="Count">Probes seen.</param>
/// <param name="Interval">The observed interval (a moving average of the gaps); zero until a second probe.</param>
/// <param name="SinceLastSeen">How long ago the last probe came.</param>
/// <param name="LastStatus">The HTTP status code of the last answer (for gRPC and the agent: 200 serving, 503 not).</param>
/// <param name="ConsecutiveFailures">Failing answers (not 2xx or 3xx) in a row, up to the last one.</param>
/// <param name="LastSeenAt">When the last probe came, to the second.</param>
/// <param name="Streamed">Whether it listens on a stream (a gRPC Watch), where answers are pushed when they change rather than asked for.</param>
/// <param name="OpenStreams">How many of its streams are open now.</param>
internal readonly record struct ProberView(
    long Id,
    ProberDoor Door,
    IPAddress? Peer,
    string UserAgent,
    string Path,
    ProberKind Kind,
    ProberRole Role,
    long Count,
    TimeSpan Interval,
    TimeSpan SinceLastSeen,
    int LastStatus,
    int ConsecutiveFailures,
    DateTimeOffset LastSeenAt = default,
    bool Streamed = false,
    int OpenStreams = 0)
{
    /// <summary>
    /// Gets the peer as pages and logs show it: "loopback" for a prober on this host (a local HAProxy, a sidecar),
    /// so the page never prints an address a check's own output would hide.
    /// </summary>
    public string PeerText => Peer is null ? "an unknown address" : IPAddress.IsLoopback(Peer) ? "loopback" : Peer.ToString();

    /// <summary>Gets whether a stream of this prober is open now: it hears every change of the answer at once.</summary>
    public bool Listening => OpenStreams > 0;

    /// <summary>Gets the observed interval, or the kind's default before a second probe.</summary>
    public TimeSpan ExpectedInterval => Interval > TimeSpan.Zero ? Interval : ProberKinds.DefaultInterval(Kind);

    /// <summary>Gets how the status page and the logs name this prober: its kind, then its <c>User-Agent</c> or address.</summary>
    public string DisplayName =>
        UserAgent.Length > 0 ? $"{ProberKinds.Name(Kind)} ({UserAgent})" : ProberKinds.Name(Kind);
}

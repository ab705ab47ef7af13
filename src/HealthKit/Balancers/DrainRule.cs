// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;

namespace HealthKit.Balancers;

/// <summary>
/// When a drain may end: once every balancer that was probing the instance has had enough failing answers to take it
/// out, and requests have stopped arriving for <see cref="QuietPeriod"/>; or when <c>DeployHealth:Drain:Maximum</c> is
/// reached. What HealthKit cannot see gets a floor, <see cref="BlindAllowance"/>: the kubelet's answers take nothing
/// out during a stop (Kubernetes removes a deleted pod from its Service's endpoints whatever readiness says, and
/// kube-proxy and ingress controllers follow within seconds), so with a kubelet probing the drain lasts at least that
/// long; and with no prober at all, requests that keep arriving come from a client or a passive balancer that no
/// answer takes out, so the drain waits that long for them to stop and no longer. A prober that listens on a stream (a
/// gRPC Watch) hears the change the moment readiness fails: one failing answer pushed to it is enough, and once its
/// stream has closed nothing more reaches it (a watcher that comes back is told at once).
/// </summary>
internal static class DrainRule
{
    /// <summary>How long no request may arrive before the traffic counts as stopped.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    /// <summary>The shortest interval assumed for a known prober seen once.</summary>
    public static readonly TimeSpan UnlearnedInterval = TimeSpan.FromSeconds(10);

    /// <summary>The floor for a removal HealthKit cannot see: Kubernetes endpoints, a passive balancer.</summary>
    public static readonly TimeSpan BlindAllowance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether a prober counts for the drain that begins now: it asks for readiness and probed within two of its
    /// intervals and a second. An unknown prober counts once it has probed twice (a single request is not a balancer).
    /// A known prober seen only once has no interval yet: it gets at least 10 s for one (HAProxy's <c>inter</c> is often
    /// longer than its 2 s default), so a stop soon after start still waits for it.
    /// </summary>
    public static bool IsWatched(ProberView prober)
    {
        if (prober.Role != ProberRole.Readiness)
        {
            return false;
        }

        // A stream's answers are pushed when they change: silence says nothing, an open stream says it listens.
        if (prober.Streamed)
        {
            return prober.Listening;
        }

        if (prober.Kind == ProberKind.Unknown && prober.Count < 2)
        {
            return false;
        }

        return prober.SinceLastSeen <= (2 * WatchInterval(prober)) + TimeSpan.FromSeconds(1);
    }

    private static TimeSpan WatchInterval(ProberView prober) =>
        prober.Count < 2 && prober.ExpectedInterval < UnlearnedInterval ? UnlearnedInterval : prober.ExpectedInterval;

    /// <summary>The failing answers in a row after which a prober of this kind takes the instance out.</summary>
    public static int Threshold(ProberKind kind, int? configured) =>
        kind == ProberKind.HaproxyAgent ? 1 : configured ?? ProberKinds.DefaultFailureThreshold(kind);

    /// <summary>The failing answers in a row after which this prober takes the instance out: one for a stream, which acts on the change itself.</summary>
    public static int Threshold(ProberView prober, int? configured) =>
        prober.Streamed ? 1 : Threshold(prober.Kind, configured);

    /// <summary>How long a prober needs to take an instance out once readiness fails: its threshold of intervals.</summary>
    public static TimeSpan TimeToTakeOut(ProberView prober, int threshold) => threshold * prober.ExpectedInterval;

    /// <summary>Decides whether the drain ends now.</summary>
    /// <param name="watched">The probers watched since the drain began (<see cref="IsWatched"/>), as they are now.</param>
    /// <param name="elapsed">How long the drain has lasted.</param>
    /// <param name="quietFor">How long no request (other than probes) has arrived; counted from the drain's start at most.</param>
    /// <param name="maximum">The longest drain (<c>DeployHealth:Drain:Maximum</c>).</param>
    /// <param name="configuredThreshold"><c>DeployHealth:Drain:FailureThreshold</c>, or <see langword="null"/> for each kind's default.</param>
    public static DrainDecision Decide(IReadOnlyList<ProberView> watched, TimeSpan elapsed, TimeSpan quietFor, TimeSpan maximum, int? configuredThreshold)
    {
        var kubelet = false;
        var pending = new StringBuilder();
        var pendingCount = 0;
        foreach (var prober in watched)
        {
            if (prober.Kind == ProberKind.Kubernetes)
            {
                kubelet = true;
                continue;
            }

            var threshold = Threshold(prober, configuredThreshold);
            if (prober.ConsecutiveFailures >= threshold || HasGone(prober))
            {
                continue;
            }

            pendingCount++;
            pending.Append(pending.Length == 0 ? string.Empty : ", ")
                .Append(CultureInfo.InvariantCulture, $"{prober.DisplayName} at {prober.Path} ({prober.ConsecutiveFailures} of {threshold} failing answers)");
        }

        if (elapsed >= maximum)
        {
            return DrainDecision.Stop(pendingCount > 0
                ? $"DeployHealth:Drain:Maximum reached while waiting for {pending}"
                : quietFor < QuietPeriod ? "DeployHealth:Drain:Maximum reached while requests still arrived" : "DeployHealth:Drain:Maximum reached");
        }

        if (pendingCount > 0)
        {
            return DrainDecision.Wait($"waiting for {pending}");
        }

        if (kubelet && elapsed < BlindAllowance)
        {
            return DrainDecision.Wait("a kubelet probes: waiting the Kubernetes floor for endpoint removal");
        }

        var balancers = watched.Count > 0;
        if (quietFor >= QuietPeriod)
        {
            return DrainDecision.Stop(!balancers
                ? "no balancer was probing, and no request arrived for a second"
                : kubelet && pendingCount == 0 && watched.Count == CountKubelets(watched)
                    ? "a kubelet was probing: the Kubernetes floor has passed, and no request arrived for a second"
                    : "every balancer that was probing has had enough failing answers, and no request arrived for a second");
        }

        if (!balancers && elapsed >= BlindAllowance)
        {
            return DrainDecision.Stop("no balancer was probing; requests still arrive, from clients or a passive balancer that no answer takes out");
        }

        return DrainDecision.Wait("waiting for requests to stop");
    }

    private static int CountKubelets(IReadOnlyList<ProberView> watched)
    {
        var count = 0;
        foreach (var prober in watched)
        {
            count += prober.Kind == ProberKind.Kubernetes ? 1 : 0;
        }

        return count;
    }

    /// <summary>
    /// A prober silent for three of its intervals and a second has stopped probing: its balancer let go, or is gone. A
    /// stream's prober has gone when its stream has closed.
    /// </summary>
    private static bool HasGone(ProberView prober) =>
        prober.Streamed ? !prober.Listening : prober.SinceLastSeen > (3 * WatchInterval(prober)) + TimeSpan.FromSeconds(1);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Logging;

namespace HealthKit.Balancers;

/// <summary>
/// Warnings an operator can act on, each logged once per prober and path (not per probe) and kept for the status page:
/// a known prober that the app answers with anything but 200 or 503 (it probes a path that is not HealthKit's); no
/// prober for several intervals while the app serves traffic; a prober too slow to take the instance out within the
/// drain. At most <see cref="MaxWarnings"/> are raised in a process, so spoofed identities cannot flood the log.
/// </summary>
internal sealed partial class ProberWarnings(TimeProvider time, ILogger<ProberWarnings> logger)
{
    public const int MaxWarnings = 32;

    /// <summary>The longest default interval of a common balancer (ALB, 30 s): "several intervals" is three of them.</summary>
    public static readonly TimeSpan SilenceWindow = TimeSpan.FromSeconds(90);

    private readonly Lock _lock = new();
    private readonly HashSet<string> _raised = new(StringComparer.Ordinal);
    private readonly List<BalancerWarning> _warnings = [];
    private bool _capped;

    /// <summary>Gets the warnings raised so far, oldest first.</summary>
    public IReadOnlyList<BalancerWarning> Current
    {
        get
        {
            lock (_lock)
            {
                return [.. _warnings];
            }
        }
    }

    /// <summary>
    /// A prober recognised anywhere (by <c>User-Agent</c>, or HAProxy's HTTP/1.0 without headers) got an answer that is
    /// neither HealthKit's 200 nor its 503: it probes a path HealthKit does not answer, or with a method it refuses.
    /// Browsers and other clients are never recognised, so they never count.
    /// </summary>
    public static bool IsMisdirected(ProberKind kind, int statusCode) =>
        ProberKinds.IsRecognisedAnywhere(kind) && statusCode is not (200 or 503);

    /// <summary>
    /// No prober has ever asked for readiness, <see cref="SilenceWindow"/> after start, while the app serves requests:
    /// the balancer's health check points somewhere else, or nothing checks this instance at all.
    /// </summary>
    public static bool NoProberSeen(IReadOnlyList<ProberView> probers, TimeSpan uptime, long requests)
    {
        if (uptime < SilenceWindow || requests == 0)
        {
            return false;
        }

        foreach (var prober in probers)
        {
            if (prober.Role == ProberRole.Readiness)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// An established readiness prober has not probed for three of its intervals and a minute: its balancer stopped
    /// checking. Not a stream's (a gRPC Watch): its answers come only when they change, so its silence is the rule.
    /// </summary>
    public static bool WentSilent(ProberView prober) =>
        prober.Role == ProberRole.Readiness
        && !prober.Streamed
        && prober.Count >= ProberLedger.Established
        && prober.SinceLastSeen > (3 * prober.ExpectedInterval) + TimeSpan.FromMinutes(1);

    public void Misdirected(ProberView prober, string readinessPath)
    {
        if (!TryRaise($"misdirected|{prober.Kind}|{prober.UserAgent}|{prober.Path}", out var at))
        {
            return;
        }

        var advice = ProberKinds.Advice(prober.Kind, readinessPath);
        Keep(new BalancerWarning(
            460,
            string.Create(CultureInfo.InvariantCulture, $"{prober.DisplayName} from {prober.PeerText} probes {prober.Path} and gets {prober.LastStatus} from the app, not HealthKit's answer: {advice}."),
            at));
        Log.ProberMisdirected(logger, prober.DisplayName, prober.PeerText, prober.Path, prober.LastStatus, advice);
    }

    public void NoProber(TimeSpan uptime, long requests, string readinessPath)
    {
        if (!TryRaise("silence", out var at))
        {
            return;
        }

        Keep(new BalancerWarning(
            461,
            string.Create(CultureInfo.InvariantCulture, $"No balancer has probed {readinessPath} in {uptime.TotalSeconds:0} s, while the app served {requests} requests: the health check points elsewhere, or nothing takes this instance out when it drains."),
            at));
        Log.NoProberSeen(logger, readinessPath, uptime.TotalSeconds, requests);
    }

    public void Silent(ProberView prober)
    {
        if (!TryRaise($"silent|{prober.Id}", out var at))
        {
            return;
        }

        Keep(new BalancerWarning(
            463,
            string.Create(CultureInfo.InvariantCulture, $"{prober.DisplayName} from {prober.PeerText} probed {prober.Path} every {prober.ExpectedInterval.TotalSeconds:0.#} s and has not for {prober.SinceLastSeen.TotalSeconds:0} s, while the app serves requests."),
            at));
        Log.ProberSilent(logger, prober.DisplayName, prober.Path, prober.ExpectedInterval.TotalSeconds, prober.SinceLastSeen.TotalSeconds);
    }

    public void TooSlow(ProberView prober, int threshold, TimeSpan needed, TimeSpan limit, string limitName)
    {
        if (!TryRaise($"slow|{prober.Id}", out var at))
        {
            return;
        }

        Keep(new BalancerWarning(
            462,
            string.Create(CultureInfo.InvariantCulture, $"{prober.DisplayName} probes {prober.Path} every {prober.ExpectedInterval.TotalSeconds:0.#} s and takes an instance out after {threshold} failing answers, about {needed.TotalSeconds:0} s: longer than {limitName} ({limit.TotalSeconds:0} s). Shorten its interval or threshold, or raise {limitName}."),
            at));
        Log.ProberTooSlow(logger, prober.DisplayName, prober.Path, prober.ExpectedInterval.TotalSeconds, threshold, needed.TotalSeconds, limitName, limit.TotalSeconds);
    }

    private bool TryRaise(string key, out DateTimeOffset at)
    {
        at = time.GetUtcNow();
        lock (_lock)
        {
            if (_raised.Contains(key))
            {
                return false;
            }

            if (_raised.Count >= MaxWarnings)
            {
                if (!_capped)
                {
                    _capped = true;
                    Log.WarningsCapped(logger, MaxWarnings);
                }

                return false;
            }

            _raised.Add(key);
            return true;
        }
    }

    private void Keep(BalancerWarning warning)
    {
        lock (_lock)
        {
            _warnings.Add(warning);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 460, EventName = "ProberMisdirected", Level = LogLevel.Warning,
            Message = "{Prober} from {Peer} probes {Path} and gets {StatusCode} from the app, not HealthKit's answer: {Advice}.")]
        public static partial void ProberMisdirected(ILogger logger, string prober, string peer, string path, int statusCode, string advice);

        [LoggerMessage(EventId = 461, EventName = "NoProberSeen", Level = LogLevel.Warning,
            Message = "No balancer has probed {Path} in {UptimeSeconds:0} s, while the app served {Requests} requests: the health check points elsewhere, or nothing takes this instance out when it drains.")]
        public static partial void NoProberSeen(ILogger logger, string path, double uptimeSeconds, long requests);

        [LoggerMessage(EventId = 463, EventName = "ProberSilent", Level = LogLevel.Warning,
            Message = "{Prober} probed {Path} every {IntervalSeconds:0.#} s and has not for {SilentSeconds:0} s, while the app serves requests.")]
        public static partial void ProberSilent(ILogger logger, string prober, string path, double intervalSeconds, double silentSeconds);

        [LoggerMessage(EventId = 462, EventName = "ProberTooSlowForDrain", Level = LogLevel.Warning,
            Message = "{Prober} probes {Path} every {IntervalSeconds:0.#} s and takes an instance out after {Threshold} failing answers, about {NeededSeconds:0} s: longer than {LimitName} ({LimitSeconds:0} s). Shorten its interval or threshold, or raise {LimitName}.")]
        public static partial void ProberTooSlow(ILogger logger, string prober, string path, double intervalSeconds, int threshold, double neededSeconds, string limitName, double limitSeconds);

        [LoggerMessage(EventId = 464, EventName = "BalancerWarningsCapped", Level = LogLevel.Warning,
            Message = "{Max} balancer warnings raised; further ones are not logged (many distinct prober identities: spoofed User-Agents?).")]
        public static partial void WarningsCapped(ILogger logger, int max);
    }
}

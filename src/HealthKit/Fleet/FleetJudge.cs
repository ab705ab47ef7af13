// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Evaluation;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>
/// The ejection budget. A Local failure always takes the instance out, and so does a Shared check's finding that
/// its result marks as this instance's own (<see cref="CheckScopes.LocalFindingKey"/>: pending migrations). A Shared
/// failure takes it out only while at most <see cref="DeployHealthFleetOptions.MaxEjectedPercent"/> of the live fleet
/// fails the same check; beyond that the dependency is down for everyone and the instance stays in rotation
/// (Degraded: 200 <c>warn</c>), so the balancer keeps a pool for every request that does not need it. Instances evaluate at different moments, so before
/// a Shared failure ejects, the board must confirm that this instance fails alone, at the same time as the others
/// pass: every other live instance has published an evaluation that began after this instance published the failure
/// (the first to notice a fleet-wide outage is not taken out before the others have looked), and this failing
/// evaluation began after this instance had seen each passing peer pass (the last to see a dependency come back is
/// not taken out for a pass it has not evaluated yet). Both are decided on Redis's clock, which orders every
/// instance's exchanges, never by comparing two machines' clocks. Meanwhile the instance stays in (200 <c>warn</c>).
/// Without a usable picture (fleet view off, board not read yet, or unreadable for longer than the grace period) it
/// judges alone: the status is left as it is.
/// </summary>
internal sealed partial class FleetJudge(FleetView view, FleetMetrics metrics, IOptions<DeployHealthOptions> options, ILogger<FleetJudge> logger)
    : IReadinessJudge
{
    private readonly DeployHealthOptions _settings = options.Value;
    private readonly Lock _gate = new();
    // Each outage as last logged: whether this instance answered 503 all the same (another failure took it out).
    private readonly Dictionary<string, bool> _outages = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _ejections = new(StringComparer.OrdinalIgnoreCase);
    private Decision? _last;

    public HealthStatus Judge(HealthSnapshot snapshot, HealthStatus status, out VerdictReason cause, out string? reason)
    {
        if (!view.Enabled)
        {
            cause = VerdictReason.None;
            reason = null;
            return status;
        }

        // Probes arrive far more often than evaluations and exchanges: decide once per (snapshot, picture) pair.
        var picture = view.Current;
        var last = Volatile.Read(ref _last);
        if (last is null || !ReferenceEquals(last.Snapshot, snapshot) || !ReferenceEquals(last.Picture, picture) || last.Status != status)
        {
            lock (_gate)
            {
                last = Decide(snapshot, status, picture, _settings);
                NoteTransitions(last);
                Volatile.Write(ref _last, last);
            }
        }

        reason = last.Reason;
        cause = last.Cause;
        return last.Result;
    }

    /// <summary>The ejection budget applied to one evaluation and one fleet picture (null: judge alone).</summary>
    internal static Decision Decide(HealthSnapshot snapshot, HealthStatus status, FleetPicture? picture, DeployHealthOptions settings)
    {
        if (picture is null || status != HealthStatus.Unhealthy)
        {
            return new Decision(snapshot, picture, status, status, null, []);
        }

        string? reason = null;
        var cause = VerdictReason.None;
        var outages = new List<SharedFailure>();
        string? ejectedBy = null;
        foreach (var (name, entry) in snapshot.Report.Entries)
        {
            if (entry.Status != HealthStatus.Unhealthy)
            {
                continue;
            }

            if (CheckScopes.Resolve(name, entry, settings) == CheckScope.Local)
            {
                // Only this instance can be wrong: out, whatever the others see.
                ejectedBy ??= name;
                continue;
            }

            var failing = 1;
            var alone = Confirms(snapshot, name, picture.Report, out var published, out var floor);
            var key = FleetFacts.Truncate(name);
            foreach (var peer in picture.Peers)
            {
                if (!peer.Checks.TryGetValue(key, out var seen))
                {
                    continue;
                }

                if (FleetPicture.Fails(seen))
                {
                    // A peer whose result was its own (pending migrations) reached the dependency: no outage to count.
                    if (!FleetPicture.IsLocal(seen))
                    {
                        failing++;
                    }
                }
                else
                {
                    // A pass seen only after this failing evaluation began may be the dependency coming back, which
                    // this instance has not evaluated yet: the next evaluation says whether it still fails.
                    alone &= peer.Seen.TryGetValue(key, out var passingSince) && floor > passingSince;
                }

                // Did this peer's published evaluation begin after this instance published the failure (so after it
                // saw it)? On Redis's clock, which orders both.
                alone &= peer.EvaluationFloor > published;
            }

            var live = picture.Live;
            if (failing * 100 > settings.Fleet.MaxEjectedPercent * live)
            {
                outages.Add(new SharedFailure(name, failing, live));
                if (reason is null)
                {
                    cause = VerdictReason.FleetOutage;
                    reason = string.Create(CultureInfo.InvariantCulture, $"fleet-wide outage: '{name}' fails on {failing} of {live} instances; staying in rotation");
                }
            }
            else if (!alone)
            {
                if (reason is null)
                {
                    cause = VerdictReason.FleetConfirming;
                    reason = string.Create(CultureInfo.InvariantCulture, $"'{name}' fails; waiting for the board to confirm it fails here alone before leaving rotation");
                }
            }
            else
            {
                ejectedBy ??= name;
                outages.Add(new SharedFailure(name, failing, live, Ejected: true));
            }
        }

        return ejectedBy is not null
            ? new Decision(snapshot, picture, status, HealthStatus.Unhealthy, null, outages, ejectedBy)
            : new Decision(snapshot, picture, status, HealthStatus.Degraded, reason, outages) { Cause = cause };
    }

    /// <summary>
    /// Whether the board can confirm this failure at all: only once this instance has published it (the same failure,
    /// by its transition time). Gives Redis's time at that publication and the point on Redis's clock the published
    /// evaluation began after (a later evaluation began later still, so it bounds this one too).
    /// </summary>
    private static bool Confirms(HealthSnapshot snapshot, string name, FleetPicture.SelfReport? report, out long published, out long floor)
    {
        published = long.MaxValue;
        floor = long.MinValue;
        if (report is null
            || !report.Failures.TryGetValue(name, out var failure)
            || !snapshot.Transitions.TryGetValue(name, out var since)
            || since != failure.Since)
        {
            return false;
        }

        published = failure.PublishedAt;
        floor = report.Floor;
        return true;
    }

    private void NoteTransitions(Decision decision)
    {
        // Judged alone, a decision says nothing about the fleet: the outages stand as last seen until a picture returns.
        if (decision.Picture is null)
        {
            return;
        }

        var outages = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
        var ejections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var outAnyway = decision.Result == HealthStatus.Unhealthy;
        foreach (var failure in decision.Failures)
        {
            if (failure.Ejected)
            {
                ejections.Add(failure.Check);
                if (!_ejections.Contains(failure.Check))
                {
                    Log.SharedFailureEjects(logger, failure.Check, failure.Failing, failure.Live, _settings.Fleet.MaxEjectedPercent);
                }
            }
            else
            {
                outages[failure.Check] = outAnyway;
                var known = _outages.TryGetValue(failure.Check, out var wasOut);
                if (!known)
                {
                    metrics.SetOutage(failure.Check, true);
                }

                // The line states what the instance answers, so it is logged again when that changes mid-outage.
                if (!known || wasOut != outAnyway)
                {
                    if (outAnyway)
                    {
                        Log.FleetOutageOutAllTheSame(logger, failure.Check, failure.Failing, failure.Live, _settings.Fleet.MaxEjectedPercent, decision.EjectedBy!);
                    }
                    else
                    {
                        Log.FleetOutage(logger, failure.Check, failure.Failing, failure.Live, _settings.Fleet.MaxEjectedPercent);
                    }
                }
            }
        }

        foreach (var check in _outages.Keys)
        {
            if (!outages.ContainsKey(check))
            {
                metrics.SetOutage(check, false);
                Log.FleetOutageOver(logger, check);
            }
        }

        _outages.Clear();
        foreach (var (check, wasOut) in outages)
        {
            _outages[check] = wasOut;
        }

        _ejections.Clear();
        _ejections.UnionWith(ejections);
    }

    /// <summary>
    /// One judged evaluation: its inputs, the status it had and the one readiness reports, the Shared failures seen,
    /// and the first check that took the instance out (null when it stays in).
    /// </summary>
    internal sealed record Decision(HealthSnapshot Snapshot, FleetPicture? Picture, HealthStatus Status, HealthStatus Result, string? Reason, IReadOnlyList<SharedFailure> Failures, string? EjectedBy = null)
    {
        /// <summary>Gets the typed reason: an outage kept in, or a failure waiting for the board's confirmation.</summary>
        public VerdictReason Cause { get; init; }
    }

    /// <summary>A Shared check failing here, on how many of how many live instances, and whether this instance leaves for it.</summary>
    internal sealed record SharedFailure(string Check, int Failing, int Live, bool Ejected = false);

    private static partial class Log
    {
        [LoggerMessage(EventId = 265, EventName = "FleetOutage", Level = LogLevel.Warning,
            Message = "Shared check '{CheckName}' fails on {Failing} of {Live} live instances, more than DeployHealth:Fleet:MaxEjectedPercent ({MaxEjectedPercent}%) allows: an outage of the dependency. This instance stays in rotation (200 warn) so requests that do not need it are still served.")]
        public static partial void FleetOutage(ILogger logger, string checkName, int failing, int live, int maxEjectedPercent);

        [LoggerMessage(EventId = 266, EventName = "FleetOutageOver", Level = LogLevel.Information,
            Message = "Shared check '{CheckName}' no longer fails on most of the fleet.")]
        public static partial void FleetOutageOver(ILogger logger, string checkName);

        [LoggerMessage(EventId = 267, EventName = "FleetSharedFailureEjects", Level = LogLevel.Warning,
            Message = "Shared check '{CheckName}' fails on {Failing} of {Live} live instances, this one included, within DeployHealth:Fleet:MaxEjectedPercent ({MaxEjectedPercent}%): this instance leaves rotation.")]
        public static partial void SharedFailureEjects(ILogger logger, string checkName, int failing, int live, int maxEjectedPercent);

        [LoggerMessage(EventId = 500, EventName = "FleetOutageOutAllTheSame", Level = LogLevel.Warning,
            Message = "Shared check '{CheckName}' fails on {Failing} of {Live} live instances, more than DeployHealth:Fleet:MaxEjectedPercent ({MaxEjectedPercent}%) allows: an outage of the dependency, which alone would keep this instance in rotation. It is out of rotation (503) all the same, because '{EjectedBy}' fails on this instance alone.")]
        public static partial void FleetOutageOutAllTheSame(ILogger logger, string checkName, int failing, int live, int maxEjectedPercent, string ejectedBy);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// Turns a finished evaluation into the snapshot probes read: flap tolerance judges each fresh result (a reused one was
/// judged when it was produced), each check's result keeps when it was produced and how old it may grow, and the
/// observer sees every result. It also marks a snapshot whose results have outgrown their bound, so an old pass is
/// never served when the refresh that should have replaced it is stuck.
/// </summary>
/// <remarks>
/// A result may grow as old as its interval (zero for a check that runs in every evaluation), plus one cache period
/// (how long a finished evaluation is served, or waited between two in background mode), plus the longest deadline
/// twice (the evaluation that reused it and the one that replaces it each end within it). Past that bound nothing is
/// replacing it: it counts as Unhealthy.
/// </remarks>
internal sealed class SnapshotBuilder(DeployHealthOptions options, TimeProvider time, TransitionObserver observer)
{
    /// <summary>Gets how often evaluations follow one another at most: the cache period, at least a second in background mode.</summary>
    public TimeSpan Cadence =>
        options.EvaluatesInBackground && options.CacheDuration < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : options.CacheDuration;

    public HealthSnapshot Build(RunningEvaluation evaluation)
    {
        var wall = time.GetUtcNow();
        var now = time.GetTimestamp();
        var plan = evaluation.Plan;
        var checks = plan.Checks;
        var slots = evaluation.Slots;
        var entries = new Dictionary<string, HealthReportEntry>(checks.Length, StringComparer.OrdinalIgnoreCase);
        var transitions = new Dictionary<string, DateTimeOffset>(checks.Length, StringComparer.OrdinalIgnoreCase);
        var timings = new Dictionary<string, CheckTiming>(checks.Length, StringComparer.OrdinalIgnoreCase);
        var staleAt = long.MaxValue;
        for (var i = 0; i < checks.Length; i++)
        {
            var check = checks[i];
            var name = check.Registration.Name;
            ref var slot = ref slots[i];
            var entry = slot.Entry;
            if (!slot.Reused)
            {
                entry = FlapTolerance.Judge(check.State, entry, check.Options, time);
                lock (check.State)
                {
                    check.State.LastResult = entry;
                    check.State.LastRecordedAt = slot.RecordedAt;
                }
            }

            var timing = TimingOf(check, slot.RecordedAt, plan.LongestDeadline);
            var age = time.GetElapsedTime(slot.RecordedAt, now);
            if (age > timing.Bound)
            {
                entry = Stale(entry, age, timing);
            }

            entries[name] = entry;
            timings[name] = timing;
            observer.Observe(check.State, name, entry, wall);
            transitions[name] = check.State.LastTransition;
            staleAt = Math.Min(staleAt, slot.RecordedAt + ToTimestamp(timing.Bound));
        }

        observer.EvaluationFinished();
        return new HealthSnapshot(new HealthReport(entries, time.GetElapsedTime(evaluation.Started, now)), now, wall, transitions, timings, staleAt);
    }

    /// <summary>The snapshot as it must be read at <paramref name="now"/>: every result past its bound counts as Unhealthy.</summary>
    public HealthSnapshot MarkStale(HealthSnapshot snapshot, long now)
    {
        var entries = new Dictionary<string, HealthReportEntry>(snapshot.Report.Entries.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, entry) in snapshot.Report.Entries)
        {
            var age = snapshot.AgeOf(name, time, now);
            entries[name] = snapshot.Timings.TryGetValue(name, out var timing) && age > timing.Bound ? Stale(entry, age, timing) : entry;
        }

        return new HealthSnapshot(new HealthReport(entries, snapshot.Report.TotalDuration), snapshot.Timestamp, snapshot.EvaluatedAt, snapshot.Transitions, snapshot.Timings);
    }

    private static HealthReportEntry Stale(in HealthReportEntry entry, TimeSpan age, in CheckTiming timing) =>
        new(HealthStatus.Unhealthy, FailureDescription.Stale(age, timing), entry.Duration, null, entry.Data, entry.Tags);

    private CheckTiming TimingOf(PlannedCheck check, long recordedAt, TimeSpan longestDeadline)
    {
        var interval = check.Interval ?? TimeSpan.Zero;
        return new CheckTiming(recordedAt, interval, check.Deadline, interval + Cadence + longestDeadline + longestDeadline);
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}

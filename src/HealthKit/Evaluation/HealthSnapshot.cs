// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>One finished evaluation, with the timestamp that decides how long it is reused.</summary>
internal sealed class HealthSnapshot(
    HealthReport report,
    long timestamp,
    DateTimeOffset evaluatedAt,
    IReadOnlyDictionary<string, DateTimeOffset> transitions,
    IReadOnlyDictionary<string, CheckTiming>? timings = null,
    long staleAt = long.MaxValue)
{
    private static readonly IReadOnlyDictionary<string, CheckTiming> NoTimings = new Dictionary<string, CheckTiming>();

    private IReadOnlyList<string>? _failing;

    public HealthReport Report { get; } = report;

    public HealthStatus Status => Report.Status;

    /// <summary>Gets the <see cref="TimeProvider.GetTimestamp"/> at which the evaluation finished.</summary>
    public long Timestamp { get; } = timestamp;

    /// <summary>Gets the wall-clock time at which the evaluation finished, as shown to operators.</summary>
    public DateTimeOffset EvaluatedAt { get; } = evaluatedAt;

    /// <summary>Gets, per check, when its status last changed.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Transitions { get; } = transitions;

    /// <summary>Gets, per check, when its result was produced and how old it may grow (a reused result is older than the evaluation).</summary>
    public IReadOnlyDictionary<string, CheckTiming> Timings { get; } = timings ?? NoTimings;

    /// <summary>Gets the timestamp from which the oldest result here is past its bound: the snapshot may not be served as it is.</summary>
    public long StaleAt { get; } = staleAt;

    /// <summary>Gets the names of the checks that are Unhealthy, listed once per snapshot rather than per probe.</summary>
    public IReadOnlyList<string> FailingChecks => _failing ??= ListFailing(Report);

    /// <summary>How old the result of <paramref name="name"/> is at <paramref name="now"/> (a timestamp of <paramref name="time"/>).</summary>
    public TimeSpan AgeOf(string name, TimeProvider time, long now) =>
        time.GetElapsedTime(Timings.TryGetValue(name, out var timing) ? timing.RecordedAt : Timestamp, now);

    /// <summary>When the result of <paramref name="name"/> was produced, on the wall clock shown to operators.</summary>
    public DateTimeOffset RecordedAt(string name, TimeProvider time) =>
        Timings.TryGetValue(name, out var timing) ? EvaluatedAt - time.GetElapsedTime(timing.RecordedAt, Timestamp) : EvaluatedAt;

    private static string[] ListFailing(HealthReport report)
    {
        var failing = new List<string>();
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status == HealthStatus.Unhealthy)
            {
                failing.Add(name);
            }
        }

        return [.. failing];
    }
}

/// <summary>
/// When one check's result in a snapshot was produced (a timestamp), the interval it is reused for (zero when it runs
/// in every evaluation), and the age past which it counts as failing.
/// </summary>
internal readonly record struct CheckTiming(long RecordedAt, TimeSpan Interval, TimeSpan Deadline, TimeSpan Bound);

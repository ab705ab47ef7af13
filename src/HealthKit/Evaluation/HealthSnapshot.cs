// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>One finished readiness evaluation, with the timestamp that decides how long it is reused.</summary>
internal sealed class HealthSnapshot(HealthReport report, long timestamp, DateTimeOffset evaluatedAt, IReadOnlyDictionary<string, DateTimeOffset> transitions)
{
    public HealthReport Report { get; } = report;

    public HealthStatus Status => Report.Status;

    /// <summary>Gets the <see cref="TimeProvider.GetTimestamp"/> at which the evaluation finished.</summary>
    public long Timestamp { get; } = timestamp;

    /// <summary>Gets the wall-clock time at which the evaluation finished, as shown to operators.</summary>
    public DateTimeOffset EvaluatedAt { get; } = evaluatedAt;

    /// <summary>Gets, per check, when its status last changed.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Transitions { get; } = transitions;

    /// <summary>Gets the names of the checks that are Unhealthy, listed once per snapshot rather than per probe.</summary>
    public IReadOnlyList<string> FailingChecks => _failing ??= ListFailing(Report);

    private IReadOnlyList<string>? _failing;

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

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// What HealthKit remembers about one registration between evaluations: whether a run is still going after its
/// deadline passed (so a hung check is waited for again rather than started a second time on top of itself), whether
/// the check is known to hold its caller's thread (so it is started on a thread of its own), its last result and when
/// it was produced (reused until the check's interval passes), the last reported status (so a transition is logged
/// once, not on every evaluation), and the current run of failures that flap tolerance counts. The run and result
/// fields are read and written under a lock on this object.
/// </summary>
internal sealed class CheckState
{
    /// <summary>Gets or sets a value indicating whether a run of the check has started and not yet returned.</summary>
    public bool Busy { get; set; }

    /// <summary>Gets or sets the evaluation the current run reports to, and its slot there.</summary>
    public RunningEvaluation? Owner { get; set; }

    public int OwnerIndex { get; set; }

    /// <summary>Gets or sets what later evaluations that found the run still going wait on; created only for them.</summary>
    public TaskCompletionSource<HealthReportEntry>? Waiters { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the check once held the evaluation's thread for longer than the stall
    /// threshold before returning its task (a synchronous connect, a blocking wait): from then on it is started on a
    /// thread-pool thread of its own.
    /// </summary>
    public bool Blocks { get; set; }

    /// <summary>Gets or sets the check's last result as the evaluation reported it (flap tolerance applied).</summary>
    public HealthReportEntry? LastResult { get; set; }

    /// <summary>Gets or sets the timestamp at which <see cref="LastResult"/> was produced.</summary>
    public long LastRecordedAt { get; set; }

    public HealthStatus? LastStatus { get; set; }

    public DateTimeOffset LastTransition { get; set; }

    public int ConsecutiveFailures { get; set; }

    /// <summary>Gets or sets the timestamp of the first failure of the current run of failures.</summary>
    public long? FailingSince { get; set; }
}

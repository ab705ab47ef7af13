// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// What HealthKit remembers about one registration between evaluations: the run that may still be going after
/// its deadline passed (so a hung check is awaited again rather than started a second time on top of itself), and
/// the last reported status (so a transition is logged once, not on every evaluation), and the current run of
/// failures that flap tolerance counts.
/// </summary>
internal sealed class CheckState
{
    public Task<HealthReportEntry>? Running { get; set; }

    public CancellationTokenSource? Cancellation { get; set; }

    public HealthStatus? LastStatus { get; set; }

    public DateTimeOffset LastTransition { get; set; }

    public int ConsecutiveFailures { get; set; }

    /// <summary>Gets or sets the timestamp of the first failure of the current run of failures.</summary>
    public long? FailingSince { get; set; }
}

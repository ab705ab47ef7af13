// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Evaluation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Verdict;

/// <summary>
/// Flap tolerance, a rule of the verdict: a check's failure counts only once it has failed
/// <see cref="DeployHealthCheckOptions.FailureThreshold"/> times in a row and for
/// <see cref="DeployHealthCheckOptions.MinimumFailureDuration"/>; until then it reads as Degraded, which keeps the instance
/// in the balancer. It judges each check once per evaluation, as the evaluation finishes (the run of failures is a
/// count of evaluations, not of probes), so the details document, the transition logs and the metrics all show the
/// same tolerated status the doors answer from.
/// </summary>
internal static class FlapTolerance
{
    /// <summary>Returns the entry readiness counts for this run of the check, and updates the check's run of failures.</summary>
    public static HealthReportEntry Judge(CheckState state, HealthReportEntry entry, DeployHealthCheckOptions? check, TimeProvider time)
    {
        if (entry.Status != HealthStatus.Unhealthy)
        {
            state.ConsecutiveFailures = 0;
            state.FailingSince = null;
            return entry;
        }

        state.ConsecutiveFailures++;
        state.FailingSince ??= time.GetTimestamp();
        if (check is null
            || (state.ConsecutiveFailures >= check.FailureThreshold && time.GetElapsedTime(state.FailingSince.Value) >= check.MinimumFailureDuration))
        {
            return entry;
        }

        var description = string.Format(
            CultureInfo.InvariantCulture,
            "Failure {0} tolerated (counts after {1} in a row and {2:0.###} s failing): {3}",
            state.ConsecutiveFailures,
            check.FailureThreshold,
            check.MinimumFailureDuration.TotalSeconds,
            entry.Description);
        return new HealthReportEntry(HealthStatus.Degraded, description, entry.Duration, entry.Exception, entry.Data, entry.Tags);
    }
}

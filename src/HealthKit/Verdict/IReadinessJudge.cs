// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Verdict;

/// <summary>
/// A rule that reads a finished evaluation and may change what it means for this instance, such as the fleet rule
/// that keeps an instance in rotation while a failure is shared by most of the fleet. Judges run in registration
/// order on the evaluation's status; the first gate that closes still wins over every judge.
/// </summary>
internal interface IReadinessJudge
{
    /// <summary>Returns the status readiness reports for <paramref name="snapshot"/>, given the status so far.</summary>
    /// <remarks><paramref name="cause"/> is <see cref="VerdictReason.None"/> when the judge changed nothing.</remarks>
    HealthStatus Judge(HealthSnapshot snapshot, HealthStatus status, out VerdictReason cause, out string? reason);
}

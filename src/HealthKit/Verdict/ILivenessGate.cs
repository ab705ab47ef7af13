// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Verdict;

/// <summary>
/// A sign that the process itself is stuck, so restarting it is the remedy (an overdue heartbeat). Never a
/// dependency: a liveness gate that follows a database would restart every instance when the database fails.
/// </summary>
internal interface ILivenessGate
{
    /// <summary>Returns why liveness must fail now, or <see cref="VerdictReason.None"/>, with the sentence in <paramref name="detail"/>.</summary>
    VerdictReason NotLive(out string? detail);
}

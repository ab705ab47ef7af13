// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Verdict;

/// <summary>
/// A condition that takes the instance out of rotation whatever the checks say: draining, the start gate, overload.
/// Read on every readiness probe, so an implementation answers from a field, never from I/O.
/// </summary>
internal interface IReadinessGate
{
    /// <summary>
    /// Returns why readiness must fail now, or <see cref="VerdictReason.None"/> when this gate lets it through, with
    /// the sentence for people in <paramref name="detail"/>. One call, so the two cannot come from different moments.
    /// </summary>
    VerdictReason NotReady(out string? detail);
}

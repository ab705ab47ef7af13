// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Verdict;

/// <summary>
/// A condition that takes the instance out of rotation whatever the checks say: draining, the start gate, overload.
/// Read on every readiness probe, so an implementation answers from a field, never from I/O.
/// </summary>
internal interface IReadinessGate
{
    /// <summary>Gets why readiness must fail now, or <see langword="null"/> when this gate lets it through.</summary>
    string? NotReadyReason { get; }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Verdict;

/// <summary>
/// The one answer to "ready?" or "alive?" that every door renders in its own protocol: an HTTP status, a gRPC
/// serving status, an HAProxy agent word, an exit code. A door never looks past it at checks, gates or rules: it
/// switches on <see cref="Cause"/> and names <see cref="FailingChecks"/>, never reads a sentence or walks the report.
/// </summary>
/// <param name="Status">Unhealthy means "take me out" (503, NOT_SERVING, <c>down</c>, exit 1); anything else keeps the instance in.</param>
/// <param name="Cause">Why, as a value a door can switch on.</param>
/// <param name="Reason">The same for people ("draining", "overloaded: ...", a fleet rule's sentence), or <see langword="null"/> when the checks decided.</param>
/// <param name="Snapshot">The evaluation the verdict was read from, for details; <see langword="null"/> before the first one.</param>
internal readonly record struct ProbeVerdict(HealthStatus Status, VerdictReason Cause, string? Reason, HealthSnapshot? Snapshot)
{
    public static ProbeVerdict Alive { get; } = new(HealthStatus.Healthy, VerdictReason.None, null, null);

    /// <summary>Gets whether the instance stays in rotation (the status is not Unhealthy).</summary>
    public bool IsUp => Status != HealthStatus.Unhealthy;

    /// <summary>Gets the HTTP status code a probe gets for this verdict: 200, or 503 when not up.</summary>
    public int HttpStatusCode => IsUp ? 200 : 503;

    /// <summary>Gets the names of the checks that fail (Unhealthy) in <see cref="Snapshot"/>, in registration order.</summary>
    public IReadOnlyList<string> FailingChecks => Snapshot?.FailingChecks ?? [];
}

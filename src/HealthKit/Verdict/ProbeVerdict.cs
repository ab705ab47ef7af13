// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Verdict;

/// <summary>
/// The one answer to "ready?" or "alive?" that every door renders in its own protocol: an HTTP status, a gRPC
/// serving status, an HAProxy agent word, an exit code. A door never looks past it at checks, gates or rules.
/// </summary>
/// <param name="Status">Unhealthy means "take me out" (503, NOT_SERVING, <c>down</c>, exit 1); anything else keeps the instance in.</param>
/// <param name="Reason">Why a gate overrode the checks ("draining", "starting", "overloaded: ..."), or <see langword="null"/>.</param>
/// <param name="Snapshot">The evaluation the verdict was read from, for details; <see langword="null"/> before the first one.</param>
internal readonly record struct ProbeVerdict(HealthStatus Status, string? Reason, HealthSnapshot? Snapshot)
{
    public static ProbeVerdict Alive { get; } = new(HealthStatus.Healthy, null, null);

    /// <summary>Gets whether the instance stays in rotation (the status is not Unhealthy).</summary>
    public bool IsUp => Status != HealthStatus.Unhealthy;

    /// <summary>Gets the HTTP status code a probe gets for this verdict: 200, or 503 when not up.</summary>
    public int HttpStatusCode => IsUp ? 200 : 503;
}

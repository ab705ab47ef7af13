// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Verdict;

/// <summary>
/// Why a verdict is what it is, for doors to switch on (the agent's <c>drain</c>, gRPC, the details document, logs)
/// rather than read a sentence. <see cref="ProbeVerdict.Reason"/> carries the sentence for people.
/// </summary>
internal enum VerdictReason
{
    /// <summary>The checks decided, and they pass (Healthy or Degraded).</summary>
    None,

    /// <summary>Not started yet, inside the start grace, warming up, or no evaluation has finished yet.</summary>
    Starting,

    /// <summary>Shutdown began or an operator drained the instance: take it out of rotation, it is leaving.</summary>
    Draining,

    /// <summary>The thread pool is starved: out of rotation until it recovers.</summary>
    Overloaded,

    /// <summary>A check fails on most of the fleet, so this instance stays in rotation (Degraded).</summary>
    FleetOutage,

    /// <summary>A check fails here and the fleet board has not yet confirmed that it fails here alone (Degraded).</summary>
    FleetConfirming,

    /// <summary>One or more checks fail: their names are in <see cref="ProbeVerdict.FailingChecks"/>.</summary>
    ChecksFailing,

    /// <summary>A liveness gate found the process stuck (an overdue heartbeat).</summary>
    Stuck,
}

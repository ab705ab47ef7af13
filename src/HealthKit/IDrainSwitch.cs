// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Takes the instance out of the balancer and puts it back, for blue/green switches and maintenance. While drained,
/// readiness answers 503 and the HAProxy agent answers <c>drain</c>; every other request is still served. There is
/// deliberately no HTTP endpoint for this: inject the service where an operator action is authorized.
/// </summary>
public interface IDrainSwitch
{
    /// <summary>Gets whether readiness currently reports draining, by <see cref="Drain"/> or because the host is stopping.</summary>
    bool IsDraining { get; }

    /// <summary>Makes readiness fail with a "draining" note until <see cref="Resume"/> is called.</summary>
    void Drain();

    /// <summary>Ends a drain started by <see cref="Drain"/>. A drain caused by host shutdown cannot be resumed.</summary>
    void Resume();
}

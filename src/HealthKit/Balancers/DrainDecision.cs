// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>What <see cref="DrainRule"/> decided: stop now or wait, and why.</summary>
/// <param name="Ends">Whether the drain ends now.</param>
/// <param name="Why">What the drain waits for, or why it ends.</param>
internal readonly record struct DrainDecision(bool Ends, string Why)
{
    public static DrainDecision Stop(string why) => new(true, why);

    public static DrainDecision Wait(string why) => new(false, why);
}

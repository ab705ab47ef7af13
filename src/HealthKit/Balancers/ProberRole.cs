// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>What a prober asks: HealthKit's readiness (what takes an instance out), its liveness, or one of the app's own paths.</summary>
internal enum ProberRole
{
    Readiness,
    Liveness,

    /// <summary>A path HealthKit does not answer: the app's answer is what the prober gets.</summary>
    App,
}

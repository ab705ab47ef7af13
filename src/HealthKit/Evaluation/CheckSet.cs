// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Evaluation;

/// <summary>Which of the registry's lists an evaluator instance evaluates.</summary>
internal enum CheckSet
{
    /// <summary>Every check of the app and HealthKit's own (<c>HealthKitRegistry.Readiness</c>).</summary>
    Readiness,

    /// <summary>The app's <c>live</c>-tagged checks only (<c>HealthKitRegistry.Liveness</c>).</summary>
    Liveness,
}

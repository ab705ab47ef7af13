// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Diagnostics;
using HealthKit.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthKit.Evaluation;

/// <summary>
/// Registers the readiness and liveness evaluators and HealthKit's metrics; the background evaluation's thread runs
/// only when evaluation is in the background (<c>DeployHealth:BackgroundEvaluation</c>, or the probe listener).
/// </summary>
internal static class EvaluationServices
{
    public static void Add(IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<HealthKitMetrics>();
        services.TryAddSingleton(static sp => ActivatorUtilities.CreateInstance<HealthEvaluator>(sp, CheckSet.Readiness));
        services.TryAddKeyedSingleton(HealthEvaluator.LivenessKey, static (sp, _) => ActivatorUtilities.CreateInstance<HealthEvaluator>(sp, CheckSet.Liveness));
        services.TryAddSingleton<BackgroundEvaluation>();
        SwitchedService.Add<BackgroundEvaluation>(services, static o => o.EvaluatesInBackground);
    }
}

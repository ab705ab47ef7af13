// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthKit.Overload;

/// <summary>Registers the thread-pool starvation gate; its detector's thread runs only with an overload threshold in effect.</summary>
internal static class OverloadServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<ThreadPoolStarvationGate>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessGate, ThreadPoolStarvationGate>(static sp => sp.GetRequiredService<ThreadPoolStarvationGate>()));
        SwitchedService.Add<ThreadPoolStarvationGate>(services, static o => o.EffectiveOverloadThreshold > TimeSpan.Zero);
    }
}

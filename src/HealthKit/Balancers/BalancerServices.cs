// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthKit.Balancers;

/// <summary>Registers the ledger of probers, the drain that follows the balancers, and the balancer warnings.</summary>
internal static class BalancerServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<ProberWarnings>();
        services.TryAddSingleton<ProberLedger>();
        services.TryAddSingleton<BalancerDrain>();
        services.TryAddSingleton<BalancerSection>();
        services.TryAddSingleton<BalancerWatch>();
        SwitchedService.Add<BalancerWatch>(services, static _ => true);
    }
}

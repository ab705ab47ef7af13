// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BalancerWatch>(static sp => sp.GetRequiredService<BalancerWatch>()));
    }
}

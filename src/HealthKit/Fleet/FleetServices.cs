// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Registry;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>Registers the fleet view; its loop runs, and its board and facts are built, only when <c>DeployHealth:Fleet:Enabled</c> is true.</summary>
internal static class FleetServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<FleetView>();
        services.TryAddSingleton<FleetFacts>();
        services.TryAddSingleton<FleetBoard>();
        services.TryAddSingleton<FleetMetrics>();
        services.TryAddSingleton<FleetJudge>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessJudge, FleetJudge>(static sp => sp.GetRequiredService<FleetJudge>()));
        services.TryAddSingleton<FleetService>();
        SwitchedService.Add<FleetService>(services, static o => o.Fleet.Enabled);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, FleetCheckRegistration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployHealthOptions>, FleetOptionsValidator>());
    }
}

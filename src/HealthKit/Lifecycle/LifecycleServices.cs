// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Lifecycle;

/// <summary>
/// Registers the instance's life: the start gate and the drain switch (<see cref="DeployState"/>), the warm-up, the
/// start-up work and its reports, and HealthKit's three hosted services: <see cref="StartupReports"/> (the start-up
/// log entries and the self-test), <see cref="HostLifecycle"/> (started, stopping, the drain) and
/// <see cref="SwitchedServices"/> (the background parts the options switch on), started in that order.
/// </summary>
internal static class LifecycleServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<DeployState>();
        services.TryAddSingleton<IDrainSwitch>(static sp => sp.GetRequiredService<DeployState>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessGate, DeployState>(static sp => sp.GetRequiredService<DeployState>()));
        services.TryAddSingleton<StartupWork>();
        services.TryAddSingleton<WarmUp>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessJudge, WarmUp>(static sp => sp.GetRequiredService<WarmUp>()));
        services.TryAddSingleton<ProbeSelfTest>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<StartedReport, StartupReport>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StartupReports>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HostLifecycle>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SwitchedServices>());
    }
}

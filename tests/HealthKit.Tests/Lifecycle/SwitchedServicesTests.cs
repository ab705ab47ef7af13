// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using HealthKit.Doors.Agent;
using HealthKit.Doors.ProbePort;
using HealthKit.Evaluation;
using HealthKit.Fleet;
using HealthKit.Lifecycle;
using HealthKit.Overload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The composition root: HealthKit runs three hosted services whatever is configured, and its background parts (the
/// listeners, the loops) are built and started only when the final options switch them on.
/// </summary>
public sealed class SwitchedServicesTests
{
    [Fact]
    public void AddDeployHealth_ThreeHostedServices_InStartOrder()
    {
        var services = new ServiceCollection();
        services.AddDeployHealth();

        // The framework's health-check publisher comes with AddHealthChecks(); it is not HealthKit's.
        var hosted = services
            .Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Assembly == typeof(DeployHealthOptions).Assembly)
            .Select(d => d.ImplementationType)
            .ToList();

        Assert.Equal([typeof(StartupReports), typeof(HostLifecycle), typeof(SwitchedServices)], hosted);
    }

    [Fact]
    public void AddDeployHealth_Twice_AddsNothingTheSecondTime()
    {
        var services = new ServiceCollection();
        services.AddDeployHealth();
        var once = services.Count;

        services.AddDeployHealth();

        Assert.Equal(once, services.Count);
    }

    [Fact]
    public async Task Start_NothingSwitchedOn_OnlyTheBalancerWatchRuns()
    {
        using var host = Build(_ => { });
        await host.StartAsync();
        try
        {
            var started = host.Services.GetRequiredService<IEnumerable<IHostedService>>().OfType<SwitchedServices>().Single().Started;

            Assert.Equal([typeof(BalancerWatch)], started.Select(s => s.GetType()));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Start_SwitchedOnByTheConfigureAction_Runs()
    {
        // Decided from the final options at start, so the lambda, not only the configuration, switches a part on.
        using var host = Build(o =>
        {
            o.BackgroundEvaluation = true;
            o.OverloadThreshold = TimeSpan.FromSeconds(1);
        });
        await host.StartAsync();
        try
        {
            var started = host.Services.GetRequiredService<IEnumerable<IHostedService>>().OfType<SwitchedServices>().Single().Started;

            Assert.Contains(started, s => s is BackgroundEvaluation);
            Assert.Contains(started, s => s is ThreadPoolStarvationGate);
            Assert.DoesNotContain(started, s => s is AgentListener or ProbePortListener or FleetService);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static IHost Build(Action<DeployHealthOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Services.AddDeployHealth(configure);
        return builder.Build();
    }
}

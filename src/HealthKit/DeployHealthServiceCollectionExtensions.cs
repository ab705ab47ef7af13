// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Configuration;
using HealthKit.Doors;
using HealthKit.Evaluation;
using HealthKit.Balancers;
using HealthKit.Fleet;
using HealthKit.Lifecycle;
using HealthKit.Overload;
using HealthKit.Resources;
using HealthKit.Safety;
using HealthKit.Smoke;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit;

/// <summary>Registers HealthKit in an application's services.</summary>
public static class DeployHealthServiceCollectionExtensions
{
    /// <summary>
    /// Adds HealthKit: probes to <c>/health</c> (and <c>/health/</c>, <c>/health/ready</c>, <c>/health/live</c>)
    /// are answered in front of the whole request pipeline, from the registered health checks, with settings
    /// bound from the <c>DeployHealth</c> configuration section. No <c>app.Use…</c> or <c>app.Map…</c> call is needed.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder to add health checks and required configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static DeployHealthBuilder AddDeployHealth(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return AddCore(services);
    }

    /// <summary>
    /// Adds HealthKit as <see cref="AddDeployHealth(IServiceCollection)"/> does, then applies
    /// <paramref name="configure"/> after the <c>DeployHealth</c> configuration section has been bound.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Changes to the options, applied after configuration binding.</param>
    /// <returns>A builder to add health checks and required configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static DeployHealthBuilder AddDeployHealth(this IServiceCollection services, Action<DeployHealthOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = AddCore(services);
        services.Configure(configure);
        return builder;
    }

    private static DeployHealthBuilder AddCore(IServiceCollection services)
    {
        var healthChecks = services.AddHealthChecks();

        // A second call adds nothing: list options such as RequiredConfiguration would double, and the doors' two
        // inserts would repeat.
        if (services.Any(static d => d.ServiceType == typeof(DeployHealthMarker)))
        {
            return new DeployHealthBuilder(healthChecks);
        }

        services.AddSingleton<DeployHealthMarker>();
        services.AddSingleton<IConfigureOptions<DeployHealthOptions>, DeployHealthDefaults>();
        services.AddSingleton(new RegisteredServices(services));
        // Bound by DeployHealthBinding rather than BindConfiguration: a value the binder cannot convert must reach
        // the validator's one start-up message instead of throwing from the first read of the options.
        services.AddSingleton<IConfigureOptions<DeployHealthOptions>, DeployHealthBinding>();
        services.AddSingleton<IOptionsChangeTokenSource<DeployHealthOptions>>(static sp =>
            new ConfigurationChangeTokenSource<DeployHealthOptions>(sp.GetRequiredService<IConfiguration>()));
        services.AddOptions<DeployHealthOptions>().ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<HostOptions>, ShutdownTimeoutSetup>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployHealthOptions>, DeployHealthOptionsValidator>());

        // One call per capability; the hosted services start in this order (see docs/architecture.md, composition).
        LifecycleServices.Add(services);
        DoorServices.Add(services);
        VerdictServices.Add(services);
        EvaluationServices.Add(services);
        CheckServices.Add(services);
        SmokeServices.Add(services);
        SafetyServices.Add(services);
        ResourceServices.Add(services);
        OverloadServices.Add(services);
        FleetServices.Add(services);
        BalancerServices.Add(services);

        return new DeployHealthBuilder(healthChecks);
    }
}

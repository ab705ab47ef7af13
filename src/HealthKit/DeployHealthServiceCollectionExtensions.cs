// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Configuration;
using HealthKit.Diagnostics;
using HealthKit.Doors.Agent;
using HealthKit.Doors.Command;
using HealthKit.Doors.Connection;
using HealthKit.Doors.Grpc;
using HealthKit.Doors.Http;
using HealthKit.Doors.ProbePort;
using HealthKit.Evaluation;
using HealthKit.Balancers;
using HealthKit.Fleet;
using HealthKit.Lifecycle;
using HealthKit.Output;
using HealthKit.Overload;
using HealthKit.Probing;
using HealthKit.Registry;
using HealthKit.Resources;
using HealthKit.Safety;
using HealthKit.Smoke;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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
        // "dotnet app.dll --health-probe": the executable is a container's probe, not the app. Answer and exit
        // before anything binds a port or starts.
        if (ProbeCommand.Parse(Environment.GetCommandLineArgs(), ProbeCommand.Setting) is { } probeTarget)
        {
            Environment.Exit(ProbeCommand.Run(probeTarget, Console.Out));
        }

        var healthChecks = services.AddHealthChecks();

        // A second call must not bind the section twice: list options such as RequiredConfiguration would double.
        if (!services.Any(static d => d.ServiceType == typeof(DeployHealthMarker)))
        {
            services.AddSingleton<DeployHealthMarker>();
            services.AddSingleton<IConfigureOptions<DeployHealthOptions>, DeployHealthDefaults>();
            services.AddSingleton(new RegisteredServices(services));
            // Bound by DeployHealthBinding rather than BindConfiguration: a value the binder cannot convert must reach
            // the validator's one start-up message instead of throwing from the first read of the options.
            services.AddSingleton<IConfigureOptions<DeployHealthOptions>, DeployHealthBinding>();
            services.AddSingleton<IOptionsChangeTokenSource<DeployHealthOptions>>(static sp =>
                new ConfigurationChangeTokenSource<DeployHealthOptions>(sp.GetRequiredService<IConfiguration>()));
            services.AddOptions<DeployHealthOptions>().ValidateOnStart();

            // The host registers host filtering's and forwarded headers' startup filters when the builder is
            // created; a filter appended now would run inside them and an IP Host header would get 400. Only the
            // first startup filter in the collection sees requests before everything else.
            services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, ProbeStartupFilter>());

            // Kestrel applies its endpoint defaults when an endpoint is created, including in the app's own
            // ConfigureKestrel: the door's setup must run before any of those, wherever AddDeployHealth() is called.
            services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, ConnectionDoorSetup>());
            services.AddSingleton<IPostConfigureOptions<HostOptions>, ShutdownTimeoutSetup>();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployHealthOptions>, DeployHealthOptionsValidator>());
        // HealthKit's own checks go to its own registry, never into the app's HealthCheckServiceOptions, so the app's
        // HealthCheckService, MapHealthChecks endpoints and publishers see only what the app registered. Discovery
        // is a post-configure step: it reads the service collection once the container is complete.
        services.TryAddSingleton<HealthKitRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, CheckDiscovery>());
        services.TryAddSingleton<MigrationCatalogs>();
        services.TryAddSingleton<RedisConnectionSource>();
        services.TryAddSingleton<ProbeRoute>();
        services.TryAddSingleton<DateHeader>();
        services.TryAddSingleton<AppPipeline>();
        services.TryAddSingleton<ConnectionDoor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ConnectionDoorReport>());
        services.TryAddSingleton<Heartbeats>();
        services.TryAddSingleton<IHeartbeat>(static sp => sp.GetRequiredService<Heartbeats>());
        services.TryAddSingleton<ForwardedHeadersWatch>();
        services.TryAddSingleton<CertificateHealthCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, SafetyCheckRegistration>());
        services.TryAddSingleton<SmokeHost>();
        services.TryAddSingleton<SmokeRenderLogs>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LoggerFilterOptions>, SmokeRenderLogs>(static sp => sp.GetRequiredService<SmokeRenderLogs>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeveloperPageExceptionFilter, SmokeRenderExceptionFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, SmokePageRegistration>());
        services.AddMetrics();
        services.TryAddSingleton<HealthKitMetrics>();
        services.TryAddSingleton<DetailsAccess>();
        services.TryAddSingleton<ConfiguredValues>();
        services.TryAddSingleton<HealthDocumentWriter>();
        services.TryAddSingleton(static sp => ActivatorUtilities.CreateInstance<HealthEvaluator>(sp, CheckSet.Readiness));
        services.TryAddKeyedSingleton(HealthEvaluator.LivenessKey, static (sp, _) => ActivatorUtilities.CreateInstance<HealthEvaluator>(sp, CheckSet.Liveness));
        services.TryAddSingleton<DeployState>();
        services.TryAddSingleton<StartupWork>();
        services.TryAddSingleton<WarmUp>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessJudge, WarmUp>(static sp => sp.GetRequiredService<WarmUp>()));
        services.TryAddSingleton<IDrainSwitch>(static sp => sp.GetRequiredService<DeployState>());
        services.TryAddSingleton<VerdictSignal>();
        services.TryAddSingleton<HealthVerdict>();
        services.TryAddSingleton<GrpcHealthDoor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessGate, DeployState>(static sp => sp.GetRequiredService<DeployState>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HostLifecycle>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AgentListener>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProbePortListener>());
        services.TryAddSingleton<ThreadPoolStarvationGate>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessGate, ThreadPoolStarvationGate>(static sp => sp.GetRequiredService<ThreadPoolStarvationGate>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ThreadPoolStarvationGate>(static sp => sp.GetRequiredService<ThreadPoolStarvationGate>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILivenessGate, HeartbeatLivenessGate>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StartupReport>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BackgroundEvaluation>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProbeSelfTest>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Http2OnlyWarning>());
        services.TryAddSingleton<ShadowedEndpoints>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ShadowedEndpoints>(static sp => sp.GetRequiredService<ShadowedEndpoints>()));
        services.TryAddSingleton<MemoryHealthCheck>();
        services.TryAddSingleton<DiskHealthCheck>();
        services.TryAddSingleton<FileDescriptorHealthCheck>();
        services.TryAddSingleton<WrittenDirectories>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, ResourceCheckRegistration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployHealthOptions>, ResourceOptionsValidator>());
        FleetServices.Add(services);
        BalancerServices.Add(services);

        return new DeployHealthBuilder(healthChecks);
    }
}

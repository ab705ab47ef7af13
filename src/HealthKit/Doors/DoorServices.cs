// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Doors.Agent;
using HealthKit.Doors.Command;
using HealthKit.Doors.Connection;
using HealthKit.Doors.Grpc;
using HealthKit.Doors.Http;
using HealthKit.Doors.ProbePort;
using HealthKit.Lifecycle;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Registry;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors;

/// <summary>
/// Registers the doors probes come through and what they share (the route, the answers, the document): the first
/// middleware, Kestrel's connection door, the gRPC door, the probe listener and the HAProxy agent (each listener only
/// when its port is set), and <c>--health-probe</c> when the process was started as a probe.
/// </summary>
internal static class DoorServices
{
    /// <summary>Called once per service collection: the two inserts below must not be repeated.</summary>
    public static void Add(IServiceCollection services)
    {
        // The host registers host filtering's and forwarded headers' startup filters when the builder is
        // created; a filter appended now would run inside them and an IP Host header would get 400. Only the
        // first startup filter in the collection sees requests before everything else.
        services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, ProbeStartupFilter>());

        // Kestrel applies its endpoint defaults when an endpoint is created, including in the app's own
        // ConfigureKestrel: the door's setup must run before any of those, wherever AddDeployHealth() is called.
        services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, ConnectionDoorSetup>());

        services.TryAddSingleton<ProbeRoute>();
        services.TryAddSingleton<DateHeader>();
        services.TryAddSingleton<DetailsAccess>();
        services.TryAddSingleton<ConfiguredValues>();
        services.TryAddSingleton<HealthDocumentWriter>();
        services.TryAddSingleton<ConnectionDoor>();
        services.TryAddSingleton<GrpcHealthDoor>();
        services.TryAddSingleton<AgentListener>();
        services.TryAddSingleton<ProbePortListener>();
        SwitchedService.Add<AgentListener>(services, static o => o.Agent.Port is not null);
        SwitchedService.Add<ProbePortListener>(services, static o => o.ProbeListener.Port is not null);

        // What the doors find wrong once the host runs: said once, with HealthKit's other start-up work.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<StartedReport, ConnectionDoorReport>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<StartedReport, Http2OnlyWarning>());
        services.TryAddSingleton<ShadowedEndpoints>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<StartedReport, ShadowedEndpoints>(static sp => sp.GetRequiredService<ShadowedEndpoints>()));

        // "dotnet app.dll --health-probe": the executable is a container's probe, not the app. The host still gets
        // built, but its start sends the probe and ends the process before anything starts or binds.
        if (ProbeCommand.Parse(Environment.GetCommandLineArgs(), ProbeCommand.Setting) is { } probeTarget)
        {
            services.AddSingleton<IHostLifetime>(new ProbeCommandLifetime(probeTarget));
        }
    }
}

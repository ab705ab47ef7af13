// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HealthKit.Safety;

/// <summary>
/// Registers the deploy-safety checks (certificates, forwarded headers, Data Protection, sessions, background
/// services, heartbeats) and the liveness gate of the app's heartbeats.
/// </summary>
internal static class SafetyServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<Heartbeats>();
        services.TryAddSingleton<IHeartbeat>(static sp => sp.GetRequiredService<Heartbeats>());
        services.TryAddSingleton<ForwardedHeadersWatch>();
        services.TryAddSingleton<CertificateHealthCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, SafetyCheckRegistration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILivenessGate, HeartbeatLivenessGate>());
    }
}

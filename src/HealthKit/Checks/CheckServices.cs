// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HealthKit.Checks;

/// <summary>Registers HealthKit's registry of checks and the discovery of the app's dependencies (databases, caches, Redis).</summary>
internal static class CheckServices
{
    public static void Add(IServiceCollection services)
    {
        // HealthKit's own checks go to its own registry, never into the app's HealthCheckServiceOptions, so the app's
        // HealthCheckService, MapHealthChecks endpoints and publishers see only what the app registered. Discovery
        // is a post-configure step: it reads the service collection once the container is complete.
        services.TryAddSingleton<HealthKitRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, CheckDiscovery>());
        services.TryAddSingleton<MigrationCatalogs>();
        services.TryAddSingleton<RedisConnectionSource>();
    }
}

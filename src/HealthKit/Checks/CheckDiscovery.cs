// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Fleet;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using HealthChecks.NpgSql;
using Npgsql;
using StackExchange.Redis;

namespace HealthKit.Checks;

/// <summary>
/// Adds a health check for each dependency the application registered: every DbContext (plain, pooled or factory),
/// an NpgsqlDataSource, Redis, and any other non-memory distributed cache. It runs when the health check options
/// are first built, after the container is complete, so the order of AddDeployHealth and AddDbContext is irrelevant.
/// Every instance of the application uses these same dependencies, so their checks declare the Shared scope.
/// </summary>
internal sealed class CheckDiscovery(RegisteredServices registered, IOptions<DeployHealthOptions> options)
    : IPostConfigureOptions<HealthCheckServiceOptions>
{
    internal const string PostgresName = "postgres";
    internal const string RedisName = "redis";
    internal const string CacheName = "cache";

    public void PostConfigure(string? optionsName, HealthCheckServiceOptions target)
    {
        var settings = options.Value;
        if (!settings.AutoDiscover)
        {
            return;
        }

        var found = Scan(registered.Services);
        foreach (var context in found.Contexts)
        {
            var contextType = context;
            var name = UniqueContextName(contextType, found.Contexts);
            // Settings of a renamed check are read under its new name, like its deadline; the discovered name still works.
            var policy = (settings.GetCheck(FinalName(settings, name)) ?? settings.GetCheck(name))?.PendingMigrations ?? PendingMigrationsPolicy.Unhealthy;
            Add(target, settings, name, ["ready", "db", CheckScopes.SharedTag], services => (IHealthCheck)ActivatorUtilities.CreateInstance(
                services, typeof(DbContextHealthCheck<>).MakeGenericType(contextType), policy));
        }

        if (found.DataSource)
        {
            // AspNetCore.HealthChecks.NpgSql 9 runs its query through the app's own data source (its pool, password
            // provider, SSL and type mapping), so it passes and fails with the app's own connections.
            Add(target, settings, PostgresName, ["ready", "db", CheckScopes.SharedTag], services => new NpgSqlHealthCheck(new NpgSqlHealthCheckOptions(services.GetRequiredService<NpgsqlDataSource>())));
        }

        if (found.Redis)
        {
            Add(target, settings, RedisName, ["ready", "cache", CheckScopes.SharedTag], services => new RedisHealthCheckAdapter(services.GetRequiredService<RedisConnectionSource>()));
        }
        else if (found.OtherCache)
        {
            Add(target, settings, CacheName, ["ready", "cache", CheckScopes.SharedTag], services => new DistributedCacheHealthCheck(services.GetRequiredService<IDistributedCache>()));
        }
    }

    internal static void Add(HealthCheckServiceOptions target, DeployHealthOptions settings, string name, string[] tags, Func<IServiceProvider, IHealthCheck> factory)
    {
        var check = settings.GetCheck(name);
        if (check is { Enabled: false })
        {
            return;
        }

        var finalName = FinalName(settings, name);
        foreach (var existing in target.Registrations)
        {
            // The application registered a check of that name itself: its own check wins.
            if (string.Equals(existing.Name, finalName, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        target.Registrations.Add(new HealthCheckRegistration(finalName, factory, failureStatus: null, tags));
    }

    private static string FinalName(DeployHealthOptions settings, string discovered) =>
        settings.GetCheck(discovered)?.Name is { Length: > 0 } renamed && !string.IsNullOrWhiteSpace(renamed) ? renamed : discovered;

    private static string UniqueContextName(Type context, List<Type> all)
    {
        foreach (var other in all)
        {
            if (other != context && other.Name == context.Name)
            {
                return context.FullName ?? context.Name;
            }
        }

        return context.Name;
    }

    internal static Discovered Scan(IServiceCollection services)
    {
        var found = new Discovered();
        ServiceDescriptor? cache = null;
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService)
            {
                continue;
            }

            var type = descriptor.ServiceType;
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDbContextFactory<>))
            {
                AddContext(found.Contexts, type.GetGenericArguments()[0]);
            }
            else if (typeof(DbContext).IsAssignableFrom(type) && type != typeof(DbContext) && !type.IsAbstract)
            {
                AddContext(found.Contexts, type);
            }
            else if (type == typeof(NpgsqlDataSource))
            {
                found.DataSource = true;
            }
            else if (type == typeof(IConnectionMultiplexer))
            {
                found.Redis = true;
            }
            else if (type == typeof(IDistributedCache))
            {
                // The last registration is the one the container resolves.
                cache = descriptor;
            }
        }

        if (cache is not null)
        {
            var implementation = cache.ImplementationType ?? cache.ImplementationInstance?.GetType();
            if (implementation is not null && typeof(RedisCache).IsAssignableFrom(implementation))
            {
                found.Redis = true;
            }
            else if (implementation != typeof(MemoryDistributedCache))
            {
                found.OtherCache = true;
            }
        }

        return found;
    }

    private static void AddContext(List<Type> contexts, Type context)
    {
        if (!contexts.Contains(context))
        {
            contexts.Add(context);
        }
    }

    internal sealed class Discovered
    {
        public List<Type> Contexts { get; } = [];

        public bool DataSource { get; set; }

        public bool Redis { get; set; }

        public bool OtherCache { get; set; }
    }
}

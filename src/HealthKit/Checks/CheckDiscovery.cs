// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Runtime.CompilerServices;
using HealthKit.Fleet;
using HealthKit.Registry;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using HealthChecks.NpgSql;
using Npgsql;

namespace HealthKit.Checks;

/// <summary>
/// Adds a health check for each dependency the application registered: every DbContext (plain, pooled or factory),
/// an NpgsqlDataSource, Redis, and any other non-memory distributed cache. It runs when HealthKit's registrations
/// are first built, after the container is complete, so the order of AddDeployHealth and AddDbContext is irrelevant.
/// Services are recognised by type name, not <c>typeof</c>: comparing with <c>typeof(DbContext)</c> would load
/// EF Core (and Npgsql, StackExchange.Redis...) into every app that uses none of them. A dependency's assembly is
/// touched only once the app is known to have registered it, from methods of their own (kept out of line, so that
/// compiling the scan does not load what they reference). Every instance of the application uses these same
/// dependencies, so their checks declare the Shared scope.
/// </summary>
internal sealed class CheckDiscovery(RegisteredServices registered, IOptions<DeployHealthOptions> options)
    : IPostConfigureOptions<HealthKitRegistrations>
{
    internal const string PostgresName = "postgres";
    internal const string RedisName = "redis";
    internal const string CacheName = "cache";

    private const string DbContextTypeName = "Microsoft.EntityFrameworkCore.DbContext";
    private const string DbContextFactoryTypeName = "Microsoft.EntityFrameworkCore.IDbContextFactory`1";
    private const string DataSourceTypeName = "Npgsql.NpgsqlDataSource";
    private const string MultiplexerTypeName = "StackExchange.Redis.IConnectionMultiplexer";
    private const string DistributedCacheTypeName = "Microsoft.Extensions.Caching.Distributed.IDistributedCache";
    private const string RedisCacheTypeName = "Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache";
    private const string MemoryCacheTypeName = "Microsoft.Extensions.Caching.Distributed.MemoryDistributedCache";

    public void PostConfigure(string? optionsName, HealthKitRegistrations target)
    {
        var settings = options.Value;
        if (!settings.AutoDiscover)
        {
            return;
        }

        var found = Scan(registered.Services);
        foreach (var context in found.Contexts)
        {
            AddContext(target, settings, context, UniqueContextName(context, found.Contexts));
        }

        if (found.DataSource)
        {
            AddDataSource(target, settings);
        }

        if (found.Redis)
        {
            AddRedis(target, settings);
        }
        else if (found.OtherCache)
        {
            AddCache(target, settings);
        }
    }

    internal static void Add(
        HealthKitRegistrations target, DeployHealthOptions settings, string name, string[] tags, Func<IServiceProvider, IHealthCheck> factory, TimeSpan? interval = null)
    {
        if (settings.GetCheck(name) is { Enabled: false })
        {
            return;
        }

        // The application's own check of the same name still wins: HealthKitRegistry leaves this one out then.
        target.TryAdd(new HealthCheckRegistration(FinalName(settings, name), factory, failureStatus: null, tags) { Period = interval });
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddContext(HealthKitRegistrations target, DeployHealthOptions settings, Type contextType, string name)
    {
        // Settings of a renamed check are read under its new name, like its deadline; the discovered name still works.
        var policy = (settings.GetCheck(FinalName(settings, name)) ?? settings.GetCheck(name))?.PendingMigrations ?? PendingMigrationsPolicy.Unhealthy;
        var checkType = typeof(DbContextHealthCheck<>).MakeGenericType(contextType);
        Add(target, settings, name, ["ready", "db", CheckScopes.SharedTag], services => (IHealthCheck)ActivatorUtilities.CreateInstance(services, checkType, policy));
    }

    // AspNetCore.HealthChecks.NpgSql 9 runs its query through the app's own data source (its pool, password
    // provider, SSL and type mapping), so it passes and fails with the app's own connections.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddDataSource(HealthKitRegistrations target, DeployHealthOptions settings) =>
        Add(target, settings, PostgresName, ["ready", "db", CheckScopes.SharedTag], static services => new NpgSqlHealthCheck(new NpgSqlHealthCheckOptions(services.GetRequiredService<NpgsqlDataSource>())));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddRedis(HealthKitRegistrations target, DeployHealthOptions settings) =>
        Add(target, settings, RedisName, ["ready", "cache", CheckScopes.SharedTag], static services => new RedisHealthCheckAdapter(services.GetRequiredService<RedisConnectionSource>()));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddCache(HealthKitRegistrations target, DeployHealthOptions settings) =>
        Add(target, settings, CacheName, ["ready", "cache", CheckScopes.SharedTag], static services => new DistributedCacheHealthCheck(services.GetRequiredService<IDistributedCache>()));

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

    /// <summary>Reads what the app registered, by type name only: no dependency's assembly is loaded here.</summary>
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
            if (type.IsGenericType && !type.IsGenericTypeDefinition && IsNamed(type.GetGenericTypeDefinition(), DbContextFactoryTypeName))
            {
                Remember(found.Contexts, type.GetGenericArguments()[0]);
            }
            else if (!type.IsAbstract && type.BaseType is { } baseType && DerivesFrom(baseType, DbContextTypeName))
            {
                Remember(found.Contexts, type);
            }
            else if (IsNamed(type, DataSourceTypeName))
            {
                found.DataSource = true;
            }
            else if (IsNamed(type, MultiplexerTypeName))
            {
                found.Redis = true;
            }
            else if (IsNamed(type, DistributedCacheTypeName))
            {
                // The last registration is the one the container resolves.
                cache = descriptor;
            }
        }

        if (cache is not null)
        {
            var implementation = cache.ImplementationType ?? cache.ImplementationInstance?.GetType();
            if (implementation is not null && DerivesFrom(implementation, RedisCacheTypeName))
            {
                found.Redis = true;
            }
            else if (implementation is null || !IsNamed(implementation, MemoryCacheTypeName))
            {
                found.OtherCache = true;
            }
        }

        return found;
    }

    private static bool IsNamed(Type type, string fullName) => string.Equals(type.FullName, fullName, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="type"/> is, or derives from, the class named <paramref name="fullName"/>.</summary>
    private static bool DerivesFrom(Type type, string fullName)
    {
        for (Type? current = type; current is not null; current = current.BaseType)
        {
            if (IsNamed(current, fullName))
            {
                return true;
            }
        }

        return false;
    }

    private static void Remember(List<Type> contexts, Type context)
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

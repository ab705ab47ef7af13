// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Runtime.CompilerServices;
using HealthKit.Checks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HealthKit.Fleet;

/// <summary>
/// Validates <c>DeployHealth:Fleet:*</c> when the host starts, before the server binds its port: the numbers in their
/// ranges, the time to live longer than two intervals, a Redis to put the board in. Messages name the keys as a user
/// sets them, with their environment-variable spelling where a container would set them.
/// </summary>
internal sealed class FleetOptionsValidator(RegisteredServices registered) : IValidateOptions<DeployHealthOptions>
{
    private const string Section = "DeployHealth:Fleet";
    private const string MultiplexerTypeName = "StackExchange.Redis.IConnectionMultiplexer";
    private const string RedisCacheTypeName = "Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache";

    public ValidateOptionsResult Validate(string? name, DeployHealthOptions options)
    {
        var fleet = options.Fleet;
        if (!fleet.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (fleet.MaxEjectedPercent is < 0 or > 100)
        {
            failures.Add(Invariant($"{Section}:MaxEjectedPercent must be from 0 to 100 (was {fleet.MaxEjectedPercent})"));
        }

        if (fleet.MaxInstances is < 2 or > 10_000)
        {
            failures.Add(Invariant($"{Section}:MaxInstances must be from 2 to 10000 (was {fleet.MaxInstances})"));
        }

        if (fleet.Interval <= TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:Interval must be positive (was {fleet.Interval})"));
        }
        else if (fleet.EntryTtl < fleet.Interval * 2)
        {
            failures.Add(Invariant($"{Section}:EntryTtl must be at least twice {Section}:Interval (was {fleet.EntryTtl} with an interval of {fleet.Interval}): an instance that misses one publication would leave the fleet"));
        }

        if (fleet.BoardLossTolerance < TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:BoardLossTolerance must not be negative (was {fleet.BoardLossTolerance})"));
        }

        if (fleet.MaxClockSkew <= TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:MaxClockSkew must be positive (was {fleet.MaxClockSkew})"));
        }

        if (fleet.Name is { } fleetName && (fleetName.Length > 100 || !IsPlainName(fleetName)))
        {
            failures.Add($"{Section}:Name must be letters, digits, '.', '-' and '_', at most 100 characters (was '{fleetName}')");
        }

        if (!string.IsNullOrWhiteSpace(fleet.Redis))
        {
            if (ParseRedis(fleet.Redis) is { } problem)
            {
                failures.Add(problem);
            }
        }
        else if (!HasAppRedis())
        {
            failures.Add($"{Section}:Enabled is true but there is no Redis for the board: register an IConnectionMultiplexer or AddStackExchangeRedisCache, or set {Section}:Redis (DeployHealth__Fleet__Redis) to a connection string such as redis:6379");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// Why <paramref name="configuration"/> is not a StackExchange.Redis configuration string, or null. A method of its
    /// own, called only with the fleet view on: validating an app without it must not load StackExchange.Redis.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string? ParseRedis(string configuration)
    {
        try
        {
            ConfigurationOptions.Parse(configuration);
            return null;
        }
        catch (ArgumentException exception)
        {
            // The message names the key and the option at fault, never the connection string (it may hold a password).
            return $"{Section}:Redis is not a StackExchange.Redis configuration string ({exception.Message.Split('\n')[0]})";
        }
    }

    /// <summary>Whether the app registered a Redis connection or Redis cache; by type name, as discovery does, so no Redis assembly loads.</summary>
    private bool HasAppRedis()
    {
        foreach (var descriptor in registered.Services)
        {
            if (descriptor.IsKeyedService)
            {
                continue;
            }

            if (string.Equals(descriptor.ServiceType.FullName, MultiplexerTypeName, StringComparison.Ordinal))
            {
                return true;
            }

            if (descriptor.ServiceType == typeof(IDistributedCache)
                && (descriptor.ImplementationType ?? descriptor.ImplementationInstance?.GetType()) is { } implementation
                && DerivesFrom(implementation, RedisCacheTypeName))
            {
                return true;
            }
        }

        return false;
    }

    private static bool DerivesFrom(Type? type, string fullName)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (string.Equals(type.FullName, fullName, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPlainName(string name)
    {
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or '_'))
            {
                return false;
            }
        }

        return name.Length > 0;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Checks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
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

        if (fleet.BoardGracePeriod < TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:BoardGracePeriod must not be negative (was {fleet.BoardGracePeriod})"));
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
            try
            {
                ConfigurationOptions.Parse(fleet.Redis);
            }
            catch (ArgumentException exception)
            {
                // The message names the key and the option at fault, never the connection string (it may hold a password).
                failures.Add($"{Section}:Redis is not a StackExchange.Redis configuration string ({exception.Message.Split('\n')[0]})");
            }
        }
        else if (!HasAppRedis())
        {
            failures.Add($"{Section}:Enabled is true but there is no Redis for the board: register an IConnectionMultiplexer or AddStackExchangeRedisCache, or set {Section}:Redis (DeployHealth__Fleet__Redis) to a connection string such as redis:6379");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private bool HasAppRedis()
    {
        foreach (var descriptor in registered.Services)
        {
            if (descriptor.IsKeyedService)
            {
                continue;
            }

            if (descriptor.ServiceType == typeof(IConnectionMultiplexer))
            {
                return true;
            }

            if (descriptor.ServiceType == typeof(IDistributedCache)
                && (descriptor.ImplementationType ?? descriptor.ImplementationInstance?.GetType()) is { } implementation
                && typeof(RedisCache).IsAssignableFrom(implementation))
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

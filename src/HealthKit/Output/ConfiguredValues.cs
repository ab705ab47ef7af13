// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Data.Common;
using HealthKit.Checks;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace HealthKit.Output;

/// <summary>
/// The exact values the app itself configures as secrets or endpoints: hosts, users, passwords and database names of
/// every <c>ConnectionStrings</c> entry, of its <see cref="NpgsqlDataSource"/> and of its Redis configuration. They are
/// removed from outputs wherever they appear, whatever the message's shape, because patterns alone cannot know that
/// <c>cache01</c> or <c>orders</c> is a name of the app's infrastructure. Read on the first details request (never on
/// a probe), and once more when the Redis check's connection appears later.
/// </summary>
internal sealed class ConfiguredValues(IServiceProvider services, RedisConnectionSource redis)
{
    private static readonly string[] HostKeys = ["host", "server", "data source", "datasource", "address", "addr", "network address", "endpoint"];
    private static readonly string[] NameKeys = ["user id", "userid", "user", "username", "uid", "database", "initial catalog", "db"];
    private static readonly string[] SecretKeys = ["password", "pwd", "passwd"];

    private Collected? _collected;

    /// <summary>Hosts, users and database names, longest first: replaced where they stand as a whole name.</summary>
    public IReadOnlyList<string> Names => Current.Names;

    /// <summary>Passwords, longest first: replaced wherever they appear, inside other text too.</summary>
    public IReadOnlyList<string> Secrets => Current.Secrets;

    private Collected Current
    {
        get
        {
            // Collected twice at worst when two details requests race: the result is the same.
            var collected = Volatile.Read(ref _collected);
            if (collected is null || (!collected.WithConnection && redis.Current is not null))
            {
                collected = Collect();
                Volatile.Write(ref _collected, collected);
            }

            return collected;
        }
    }

    private Collected Collect()
    {
        var values = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        if (services.GetService<IConfiguration>() is { } configuration)
        {
            foreach (var entry in configuration.GetSection("ConnectionStrings").GetChildren())
            {
                AddConnectionString(values, secrets, entry.Value);
            }
        }

        var isService = services.GetService<IServiceProviderIsService>();
        if (isService?.IsService(typeof(NpgsqlDataSource)) == true && services.GetService<NpgsqlDataSource>() is { } dataSource)
        {
            AddConnectionString(values, secrets, dataSource.ConnectionString);
        }

        var cache = services.GetService<IOptions<RedisCacheOptions>>()?.Value;
        AddRedis(values, secrets, cache?.ConfigurationOptions);
        AddRedis(values, secrets, cache?.Configuration);
        // The connection the Redis check made or took from the app, never one resolved here: resolving an app's
        // IConnectionMultiplexer may connect, and a details request must not wait for Redis.
        var multiplexer = redis.Current;
        if (multiplexer is not null)
        {
            AddRedis(values, secrets, multiplexer.Configuration);
        }

        // Values too short to be told from ordinary words ("a", "db") would eat messages; a pattern covers their shapes.
        // Numbers alone (a port in "Server=sql01,1433") would hide durations and counts.
        values.RemoveWhere(v => v.Length < 3 || v is "localhost" or "127.0.0.1" or "::1" || !v.AsSpan().ContainsAnyExcept("0123456789"));
        secrets.RemoveWhere(v => v.Length < 3);
        return new Collected(LongestFirst(values), LongestFirst(secrets), multiplexer is not null);
    }

    private static string[] LongestFirst(HashSet<string> set)
    {
        var sorted = set.ToArray();
        Array.Sort(sorted, (a, b) => b.Length.CompareTo(a.Length));
        return sorted;
    }

    private static void AddConnectionString(HashSet<string> values, HashSet<string> secrets, string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return;
        }

        if (!connectionString.Contains('=', StringComparison.Ordinal) || LooksLikeRedis(connectionString))
        {
            AddRedis(values, secrets, connectionString);
            return;
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            // Not key=value (a URL, a Redis list with odd syntax): nothing reliable to take from it.
            return;
        }

        foreach (string key in builder.Keys)
        {
            if (builder[key]?.ToString() is not { Length: > 0 } value)
            {
                continue;
            }

            var name = key.Trim().ToLowerInvariant();
            if (Array.IndexOf(HostKeys, name) >= 0)
            {
                foreach (var host in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    values.Add(StripPort(host.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase) ? host[4..] : host));
                }
            }
            else if (Array.IndexOf(NameKeys, name) >= 0)
            {
                values.Add(value);
            }
            else if (Array.IndexOf(SecretKeys, name) >= 0)
            {
                secrets.Add(value);
            }
        }
    }

    // "cache:6379,password=x,ssl=true": StackExchange.Redis's format, a comma list whose first items are endpoints.
    private static bool LooksLikeRedis(string text) =>
        text.Split(',')[0] is var first && !first.Contains('=', StringComparison.Ordinal) && !first.Contains(';', StringComparison.Ordinal);

    private static void AddRedis(HashSet<string> values, HashSet<string> secrets, string? configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            return;
        }

        try
        {
            AddRedis(values, secrets, ConfigurationOptions.Parse(configuration, ignoreUnknown: true));
        }
        catch (ArgumentException)
        {
            // A value StackExchange.Redis cannot parse cannot be used by the app either; nothing to take from it.
        }
    }

    private static void AddRedis(HashSet<string> values, HashSet<string> secrets, ConfigurationOptions? options)
    {
        if (options is null)
        {
            return;
        }

        foreach (var endpoint in options.EndPoints)
        {
            if (endpoint is System.Net.DnsEndPoint dns)
            {
                values.Add(dns.Host);
            }
            else if (endpoint is System.Net.IPEndPoint ip)
            {
                values.Add(ip.Address.ToString());
            }
        }

        if (!string.IsNullOrEmpty(options.Password))
        {
            secrets.Add(options.Password);
        }

        foreach (var value in new[] { options.User, options.ServiceName, options.ClientName })
        {
            if (!string.IsNullOrEmpty(value))
            {
                values.Add(value);
            }
        }
    }

    private static string StripPort(string host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? host[1..close] : host;
        }

        var colon = host.LastIndexOf(':');
        return colon > 0 && host.IndexOf(':', StringComparison.Ordinal) == colon ? host[..colon] : host;
    }

    private sealed record Collected(string[] Names, string[] Secrets, bool WithConnection);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using System.Text.Json;
using HealthKit.Checks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HealthKit.Fleet;

/// <summary>
/// The fleet board in Redis: a hash of entries by instance id and a sorted set of their expiry times, both under one
/// prefix (<c>healthkit:fleet:{name}:</c>; the braces keep both keys in one Redis Cluster slot). One Lua script per
/// exchange writes this instance's entry, removes the entries whose time to live has passed, and returns every live
/// entry: one round trip per evaluation. Both keys expire with the last entry, so a fleet that stops leaves nothing.
/// </summary>
internal sealed class FleetBoard : IAsyncDisposable
{
    public const string KeyPrefix = "healthkit:fleet:";

    // KEYS[1] entries (hash id -> "storedAt|json"), KEYS[2] expiry (sorted set id -> expiry ms on Redis's clock).
    // ARGV: id, json, ttl ms, max instances. Redis's own clock stamps every entry, so ages compare on one clock.
    private const string ExchangeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local ttl = tonumber(ARGV[3])
        local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
        for _, id in ipairs(gone) do redis.call('HDEL', KEYS[1], id) end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
        if redis.call('HLEN', KEYS[1]) > redis.call('ZCARD', KEYS[2]) then
          for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
            if not redis.call('ZSCORE', KEYS[2], id) then redis.call('HDEL', KEYS[1], id) end
          end
        end
        local full = 0
        if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[4]) then
          redis.call('HSET', KEYS[1], ARGV[1], now .. '|' .. ARGV[2])
          redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
        else
          full = 1
        end
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[2], ttl)
        return {now, full, redis.call('HVALS', KEYS[1])}
        """;

    private const string LeaveScript = """
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 1
        """;

    private readonly RedisConnectionSource _appRedis;
    private readonly DeployHealthFleetOptions _options;
    private readonly RedisKey[] _keys;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private IConnectionMultiplexer? _connection;
    private bool _owned;

    public FleetBoard(RedisConnectionSource appRedis, IOptions<DeployHealthOptions> options, IHostEnvironment environment)
    {
        _appRedis = appRedis;
        _options = options.Value.Fleet;
        Name = NameOf(_options, environment);
        _keys = [KeyPrefix + "{" + Name + "}:entries", KeyPrefix + "{" + Name + "}:expiry"];
    }

    /// <summary>Gets the fleet's name: the configured one, else the application name.</summary>
    public string Name { get; }

    /// <summary>Gets the two keys of the board, for tests and operators' tools.</summary>
    public IReadOnlyList<RedisKey> Keys => _keys;

    /// <summary>The fleet's name, with every character outside letters, digits, '.', '-' and '_' replaced by '_'.</summary>
    public static string NameOf(DeployHealthFleetOptions options, IHostEnvironment environment)
    {
        var name = string.IsNullOrWhiteSpace(options.Name) ? environment.ApplicationName : options.Name;
        if (string.IsNullOrEmpty(name))
        {
            return "app";
        }

        var clean = new StringBuilder(Math.Min(name.Length, 100));
        foreach (var c in name.AsSpan(0, Math.Min(name.Length, 100)))
        {
            clean.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return clean.ToString();
    }

    /// <summary>
    /// Publishes <paramref name="entry"/> and reads the board in one round trip. Returns Redis's clock, whether the
    /// board was full (the entry was not stored) and every live entry, this one included when stored.
    /// </summary>
    /// <exception cref="RedisException">Redis could not be reached or answered an error (and the others StackExchange.Redis throws).</exception>
    public async Task<BoardRead> ExchangeAsync(FleetEntry entry, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var json = JsonSerializer.SerializeToUtf8Bytes(entry, FleetJsonContext.Default.FleetEntry);
        RedisValue[] arguments =
        [
            entry.Id,
            json,
            (long)_options.EntryTtl.TotalMilliseconds,
            _options.MaxInstances,
        ];
        var result = await connection.GetDatabase().ScriptEvaluateAsync(ExchangeScript, _keys, arguments).WaitAsync(cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var now = (long)parts[0];
        var full = (long)parts[1] == 1;
        var values = (RedisResult[])parts[2]!;
        var entries = new List<FleetEntry>(values.Length);
        long bytes = json.Length;
        foreach (var value in values)
        {
            var raw = (byte[]?)value;
            if (raw is null)
            {
                continue;
            }

            bytes += raw.Length;
            if (Parse(raw) is { } parsed)
            {
                entries.Add(parsed);
            }
        }

        return new BoardRead(now, full, entries, bytes);
    }

    /// <summary>Removes this instance's entry (on a graceful stop), so the others stop counting it at once.</summary>
    public async Task LeaveAsync(string id, CancellationToken cancellationToken)
    {
        if (_connection is not { IsConnected: true } connection)
        {
            return;
        }

        await connection.GetDatabase().ScriptEvaluateAsync(LeaveScript, _keys, [id]).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An entry from its stored form <c>storedAt|json</c>; null for anything else (another writer, a later format).</summary>
    internal static FleetEntry? Parse(ReadOnlySpan<byte> raw)
    {
        var bar = raw.IndexOf((byte)'|');
        if (bar <= 0 || !long.TryParse(raw[..bar], NumberStyles.None, CultureInfo.InvariantCulture, out var storedAt))
        {
            return null;
        }

        try
        {
            var entry = JsonSerializer.Deserialize(raw[(bar + 1)..], FleetJsonContext.Default.FleetEntry);
            if (entry is null || entry.Version != 1 || entry.Id.Length == 0)
            {
                return null;
            }

            entry.StoredAt = storedAt;
            return entry;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async ValueTask<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }

        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                if (string.IsNullOrWhiteSpace(_options.Redis))
                {
                    _connection = await _appRedis.GetAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    var configuration = ConfigurationOptions.Parse(_options.Redis);

                    // Reconnect in the background while Redis is down, rather than failing the first connect for good.
                    configuration.AbortOnConnectFail = false;
                    _connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
                    _owned = true;
                }
            }

            return _connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned && _connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        _connecting.Dispose();
    }
}

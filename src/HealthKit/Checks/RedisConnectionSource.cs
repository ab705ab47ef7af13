// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HealthKit.Checks;

/// <summary>
/// The Redis connection the check uses: the application's own <see cref="IConnectionMultiplexer"/> when one is
/// registered or <c>RedisCacheOptions.ConnectionMultiplexerFactory</c> provides one; otherwise one connection of
/// HealthKit's, made from the cache's configuration once, kept for the life of the host and disposed with it
/// (never a connection per check, never a static cache of connections shared across hosts).
/// </summary>
internal sealed class RedisConnectionSource(IServiceProvider services) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _connection;
    private bool _owned;

    /// <summary>The connection once made, or null: for readers that must not connect (or wait) themselves.</summary>
    public IConnectionMultiplexer? Current => Volatile.Read(ref _connection);

    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                (_connection, _owned) = await ConnectAsync().ConfigureAwait(false);
            }

            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<(IConnectionMultiplexer Connection, bool Owned)> ConnectAsync()
    {
        if (services.GetService<IConnectionMultiplexer>() is { } registered)
        {
            return (registered, false);
        }

        var cache = services.GetRequiredService<IOptions<RedisCacheOptions>>().Value;
        if (cache.ConnectionMultiplexerFactory is not null)
        {
            return (await cache.ConnectionMultiplexerFactory().ConfigureAwait(false), false);
        }

        var options = cache.ConfigurationOptions?.Clone() ?? ConfigurationOptions.Parse(cache.Configuration ?? string.Empty);

        // Keep retrying in the background while Redis is down, rather than failing the first connect for good.
        options.AbortOnConnectFail = false;
        return (await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false), true);
    }

    public async ValueTask DisposeAsync()
    {
        // Only an owned connection's disposal touches StackExchange.Redis: the container disposes this source in every
        // app whose redaction asked it for a connection, most of which never load that assembly.
        if (_owned)
        {
            await DisposeOwnedAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask DisposeOwnedAsync() => _connection?.DisposeAsync() ?? ValueTask.CompletedTask;
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Checks;

/// <summary>
/// A non-memory IDistributedCache, standing in for the SQL Server or NCache caches HealthKit has no special
/// support for: what matters is that it is not MemoryDistributedCache and that it records what touched it.
/// </summary>
public sealed class StandInCache : IDistributedCache
{
    public ConcurrentDictionary<string, byte[]> Entries { get; } = new();

    public ConcurrentQueue<string> Touched { get; } = new();

    public bool Broken { get; set; }

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        Touch(key);
        return Task.FromResult(Broken ? null : Entries.GetValueOrDefault(key));
    }

    public void Refresh(string key) => Touch(key);

    public Task RefreshAsync(string key, CancellationToken token = default)
    {
        Touch(key);
        return Task.CompletedTask;
    }

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public Task RemoveAsync(string key, CancellationToken token = default)
    {
        Touch(key);
        Entries.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        Touch(key);
        Entries[key] = value;
        return Task.CompletedTask;
    }

    private void Touch(string key) => Touched.Enqueue(key);
}

public static class StandInCacheExtensions
{
    public static IServiceCollection AddDistributedSqlCacheStandIn(this IServiceCollection services) =>
        services.AddSingleton<StandInCache>().AddSingleton<IDistributedCache>(sp => sp.GetRequiredService<StandInCache>());
}

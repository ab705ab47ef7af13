// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Checks;

/// <summary>
/// A distributed cache round-trips: set, get and remove a key of HealthKit's own, with a short expiry so a crash
/// between set and remove leaves nothing behind for long. Application keys are never read or written.
/// </summary>
internal sealed class DistributedCacheHealthCheck(IDistributedCache cache) : IHealthCheck
{
    internal const string KeyPrefix = "healthkit:probe:";
    private static readonly DistributedCacheEntryOptions Expiry = new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(30) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var key = KeyPrefix + Environment.MachineName + ":" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var value = RandomNumberGenerator.GetBytes(16);
        await cache.SetAsync(key, value, Expiry, cancellationToken).ConfigureAwait(false);
        try
        {
            var read = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
            return read is not null && read.AsSpan().SequenceEqual(value)
                ? HealthCheckResult.Healthy("The cache round-trips.")
                : new HealthCheckResult(context.Registration.FailureStatus, "The cache did not return the value just written.");
        }
        finally
        {
            await cache.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }
}

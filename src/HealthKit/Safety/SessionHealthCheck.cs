// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Safety;

/// <summary>
/// Sessions (and TempData kept in session) stored in the in-memory distributed cache live in one instance: behind a
/// balancer the next request may land on another instance and find nothing. Degraded outside Development.
/// </summary>
internal sealed class SessionHealthCheck(IDistributedCache cache, IHostEnvironment environment) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        return Task.FromResult(cache is MemoryDistributedCache && !environment.IsDevelopment()
            ? HealthCheckResult.Degraded("Sessions are per instance: AddSession stores them in the in-memory distributed cache. Use a shared IDistributedCache (Redis, SQL Server) behind a load balancer.")
            : HealthCheckResult.Healthy("Sessions are stored in a shared distributed cache."));
    }
}

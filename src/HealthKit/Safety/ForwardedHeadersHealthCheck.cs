// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Safety;

/// <summary>Reports what <see cref="ForwardedHeadersWatch"/> noticed: Degraded while forwarded requests from a proxy the app declared are ignored.</summary>
internal sealed class ForwardedHeadersHealthCheck(ForwardedHeadersWatch watch) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(watch.Finding is { } finding
            ? HealthCheckResult.Degraded(finding)
            : HealthCheckResult.Healthy("No ignored forwarded headers from a declared proxy seen recently."));
}

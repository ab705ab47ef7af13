// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Lifecycle;

/// <summary>A dependency the test turns healthy or unhealthy, registered as the check "switch".</summary>
public sealed class SwitchableCheck : IHealthCheck
{
    public const string Name = "switch";

    private volatile bool _healthy = true;

    public bool Healthy
    {
        get => _healthy;
        set => _healthy = value;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_healthy ? HealthCheckResult.Healthy("switched on") : HealthCheckResult.Unhealthy("switched off"));
}

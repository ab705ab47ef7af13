// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Safety;

/// <summary>Unhealthy when the worker has not beaten within its maximum age.</summary>
internal sealed class HeartbeatHealthCheck(string worker, TimeSpan maxAge, Heartbeats heartbeats) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (age, everBeat) = heartbeats.AgeOf(worker);
        if (age <= maxAge)
        {
            return Task.FromResult(HealthCheckResult.Healthy(string.Format(CultureInfo.InvariantCulture, "'{0}' beat {1:0.#} s ago.", worker, age.TotalSeconds)));
        }

        var description = everBeat
            ? string.Format(CultureInfo.InvariantCulture, "'{0}' has not beaten for {1:0.#} s (at most {2:0.#} s allowed).", worker, age.TotalSeconds, maxAge.TotalSeconds)
            : string.Format(CultureInfo.InvariantCulture, "'{0}' has not beaten since start, {1:0.#} s ago (at most {2:0.#} s allowed).", worker, age.TotalSeconds, maxAge.TotalSeconds);
        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, description));
    }
}

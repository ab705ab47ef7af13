// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthChecks.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Checks;

/// <summary>
/// Redis answers, checked by AspNetCore.HealthChecks.Redis over the connection <see cref="RedisConnectionSource"/>
/// provides. That check ignores cancellation and blocks for the connect timeout when Redis is down; the evaluator's
/// deadline, not this class, is what keeps the probe on time.
/// </summary>
internal sealed class RedisHealthCheckAdapter(RedisConnectionSource connections) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var connection = await connections.GetAsync(cancellationToken).ConfigureAwait(false);
        return await new RedisHealthCheck(connection).CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace HealthKit.Checks;

/// <summary>
/// PostgreSQL answers through the application's own <see cref="NpgsqlDataSource"/>. Written here rather than taken
/// from AspNetCore.HealthChecks.NpgSql: the only version available (3.0.0) takes a connection string and opens its
/// own connections, bypassing the data source's pool, password provider, SSL and type-mapping settings, so it
/// could pass while the application's connections fail (or the reverse). It remains usable on the builder for a
/// plain connection string.
/// </summary>
internal sealed class NpgsqlDataSourceHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand("SELECT 1");
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        return HealthCheckResult.Healthy("PostgreSQL answers.");
    }
}

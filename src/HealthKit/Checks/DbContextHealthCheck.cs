// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Data.Common;
using System.Runtime.ExceptionServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Checks;

/// <summary>
/// The database of a DbContext answers, and its schema matches the code: no migration pending, none unknown.
/// The code-side migration list is read once; each evaluation costs one query of the history table, through the
/// context's own connection and model (a pooled or cached context, never a fresh model build).
/// </summary>
internal sealed class DbContextHealthCheck<TContext>(IServiceProvider services, MigrationCatalog<TContext> catalog, PendingMigrationsPolicy policy)
    : IHealthCheck
    where TContext : DbContext
{
    private const int MaxListed = 20;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var factory = services.GetService<IDbContextFactory<TContext>>();
        var db = factory is not null
            ? await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false)
            : services.GetRequiredService<TContext>();
        try
        {
            return await CheckAsync(db, context.Registration.FailureStatus, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (factory is not null)
            {
                await db.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<HealthCheckResult> CheckAsync(TContext db, HealthStatus failureStatus, CancellationToken cancellationToken)
    {
        // Without migrations to compare (a non-relational provider, or pending migrations ignored), whether the
        // database answers is all there is to ask, and the history table need not be read.
        if (!db.Database.IsRelational() || policy == PendingMigrationsPolicy.Ignore)
        {
            return await db.Database.CanConnectAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy("The database answers.")
                : new HealthCheckResult(failureStatus, "The database does not answer.");
        }

        var known = catalog.GetMigrations(db);
        List<string> applied;
        try
        {
            applied = await db.Database.SqlQueryRaw<string>(catalog.GetAppliedQuery(db)).ToListAsync(cancellationToken).ConfigureAwait(false);
        }
        // A transient failure (connection refused or dropped) is the result as it is: asking again would only
        // double the wait for a database that does not answer.
        catch (DbException failure) when (!failure.IsTransient)
        {
            applied = await ReadThroughProviderAsync(db.GetService<IHistoryRepository>(), failure, cancellationToken).ConfigureAwait(false);
        }

        if (known.Count == 0)
        {
            return HealthCheckResult.Healthy("The database answers.");
        }

        var appliedIds = new HashSet<string>(applied.Count, StringComparer.Ordinal);
        var ahead = new List<string>();
        foreach (var id in applied)
        {
            appliedIds.Add(id);
            if (!known.Contains(id))
            {
                ahead.Add(id);
            }
        }

        var pending = new List<string>();
        foreach (var id in known)
        {
            if (!appliedIds.Contains(id))
            {
                pending.Add(id);
            }
        }

        if (pending.Count > 0)
        {
            var status = policy == PendingMigrationsPolicy.Degraded ? HealthStatus.Degraded : failureStatus;
            return new HealthCheckResult(
                status,
                $"{pending.Count} migration(s) not applied to the database: {List(pending)}.",
                data: new Dictionary<string, object> { ["pendingMigrations"] = pending });
        }

        if (ahead.Count > 0)
        {
            return HealthCheckResult.Degraded(
                $"The database has {ahead.Count} migration(s) this build does not know (a rollback?): {List(ahead)}.",
                data: new Dictionary<string, object> { ["unknownMigrations"] = ahead });
        }

        return HealthCheckResult.Healthy("The database answers; every migration is applied.");
    }

    /// <summary>
    /// Asked only after the history query failed, most often because no migration was ever applied and the history
    /// table does not exist. The provider's own read tells a missing table from a failing database: SQL Server and
    /// SQLite ask whether the table exists, Npgsql (whose <c>ExistsAsync</c> always answers true) catches 42P01.
    /// Going through it first, as EF Core's own migrator does, would cost a second query on every evaluation of
    /// every healthy database.
    /// </summary>
    private static async Task<List<string>> ReadThroughProviderAsync(IHistoryRepository history, DbException failure, CancellationToken cancellationToken)
    {
        try
        {
            var rows = await history.GetAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false);
            var ids = new List<string>(rows.Count);
            foreach (var row in rows)
            {
                ids.Add(row.MigrationId);
            }

            return ids;
        }
        catch (DbException)
        {
            // The database itself does not answer: the original exception is the check's result.
            ExceptionDispatchInfo.Throw(failure);
            throw;
        }
    }

    private static string List(List<string> ids) =>
        ids.Count <= MaxListed ? string.Join(", ", ids) : string.Join(", ", ids.GetRange(0, MaxListed)) + $", … ({ids.Count - MaxListed} more)";
}

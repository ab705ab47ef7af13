// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Runtime.ExceptionServices;
using HealthKit.Fleet;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Checks;

/// <summary>
/// The database of a DbContext answers, and its schema matches the code: no migration pending, none unknown.
/// The code-side migration list is read once; a healthy database costs one query of the history table per evaluation.
/// <para>
/// The queries run on the context's own <see cref="DbConnection"/> (its provider, connection string, pool and
/// credentials), but as plain ADO.NET commands, not through EF Core: EF Core would log each one into the app's logs
/// (an Information "Executed DbCommand" per evaluation when healthy, a <c>fail:</c> with a full stack per evaluation
/// while the history table is missing) and show it to the app's interceptors. HealthKit's own transition lines are
/// the signal; the app's logging configuration for its own queries is left as it is.
/// </para>
/// </summary>
internal sealed class DbContextHealthCheck<TContext>(IServiceProvider services, MigrationCatalogs catalogs, PendingMigrationsPolicy policy)
    : IHealthCheck
    where TContext : DbContext
{
    private const int MaxListed = 20;

    /// <summary>SQLITE_CANTOPEN: the file cannot be opened (with creation refused: it does not exist).</summary>
    private const int SqliteCantOpen = 14;

    // A database file that does not exist is this instance's (SQLite lives beside the process), as are pending
    // migrations: the fleet view takes such an instance out whatever the others see.
    private static readonly IReadOnlyDictionary<string, object> LocalFinding = new Dictionary<string, object> { [CheckScopes.LocalFindingKey] = true };

    private readonly MigrationCatalog<TContext> catalog =
        (MigrationCatalog<TContext>)catalogs.GetOrAdd(typeof(TContext), static () => new MigrationCatalog<TContext>());

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
        // A non-relational provider has neither a connection nor migrations: whether it answers is all there is to ask.
        if (!db.Database.IsRelational())
        {
            return await db.Database.CanConnectAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy("The database answers.")
                : new HealthCheckResult(failureStatus, "The database does not answer.");
        }

        var queries = catalog.GetQueries(db);
        var contextConnection = db.Database.GetDbConnection();
        DbConnection connection;
        var owned = false;
        if (contextConnection.State == ConnectionState.Open)
        {
            // The app opened it (an in-memory SQLite database lives only as long as its connection): use it as it is.
            connection = contextConnection;
        }
        else if (queries.IsSqlite)
        {
            // SQLite creates a missing file on open: checking would make an empty database and then report its missing
            // tables. Opened without creation, a missing file is its own finding.
            connection = OpenWithoutCreate(contextConnection);
            owned = true;
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbException exception) when (SqliteErrorCode(exception) == SqliteCantOpen)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                return new HealthCheckResult(
                    failureStatus,
                    "The database is missing: the SQLite database file does not exist (or cannot be opened). HealthKit does not create it; apply the migrations (dotnet ef database update, or Database.Migrate() at start).",
                    data: LocalFinding);
            }
        }
        else
        {
            connection = contextConnection;
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            owned = true;
        }

        try
        {
            return await CheckOpenAsync(db, connection, queries, failureStatus, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (owned)
            {
                if (connection == contextConnection)
                {
                    await connection.CloseAsync().ConfigureAwait(false);
                }
                else
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private async Task<HealthCheckResult> CheckOpenAsync(TContext db, DbConnection connection, HistoryQueries queries, HealthStatus failureStatus, CancellationToken cancellationToken)
    {
        // Pending migrations ignored, or none compiled into this build: the open connection was the question.
        var known = policy == PendingMigrationsPolicy.Ignore ? null : catalog.GetMigrations(db);
        if (known is null || known.Count == 0)
        {
            return HealthCheckResult.Healthy("The database answers.");
        }

        var applied = await ReadAppliedAsync(db, connection, queries, cancellationToken).ConfigureAwait(false);
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
                data: new Dictionary<string, object> { ["pendingMigrations"] = pending, [CheckScopes.LocalFindingKey] = true });
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
    /// The applied migration ids; empty when the history table does not exist (no migration was ever applied). The
    /// table's existence is asked until it is seen, then not again; should the read fail after that (the table
    /// dropped), the next evaluation asks again.
    /// </summary>
    private async Task<List<string>> ReadAppliedAsync(TContext db, DbConnection connection, HistoryQueries queries, CancellationToken cancellationToken)
    {
        if (queries.Exists is null)
        {
            return await ReadWithoutExistsQueryAsync(db, connection, queries, cancellationToken).ConfigureAwait(false);
        }

        if (!catalog.HistoryTableSeen)
        {
            if (!await HistoryTableExistsAsync(connection, queries, cancellationToken).ConfigureAwait(false))
            {
                return [];
            }

            catalog.HistoryTableSeen = true;
        }

        try
        {
            return await ReadIdsAsync(connection, queries.Applied, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException failure) when (!failure.IsTransient)
        {
            catalog.HistoryTableSeen = false;
            throw;
        }
    }

    private static async Task<bool> HistoryTableExistsAsync(DbConnection connection, HistoryQueries queries, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = queries.Exists;
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@name";
            parameter.Value = queries.ExistsParameter;
            command.Parameters.Add(parameter);
            var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return result is not null and not DBNull && Convert.ToInt64(result, CultureInfo.InvariantCulture) != 0;
        }
    }

    private static async Task<List<string>> ReadIdsAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = sql;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var ids = new List<string>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ids.Add(reader.GetString(0));
                }

                return ids;
            }
        }
    }

    /// <summary>
    /// For a provider HealthKit has no existence query for: the plain read, and after a failure that is not
    /// transient (most often the missing table) the provider's own read, which asks whether the table exists. Only
    /// that second read goes through EF Core and may be logged by it.
    /// </summary>
    private static async Task<List<string>> ReadWithoutExistsQueryAsync(TContext db, DbConnection connection, HistoryQueries queries, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadIdsAsync(connection, queries.Applied, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException failure) when (!failure.IsTransient)
        {
            try
            {
                var rows = await db.GetService<IHistoryRepository>().GetAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false);
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
    }

    /// <summary>
    /// A second connection to the same SQLite database that refuses to create the file. Its own provider factory and
    /// connection string, so relative paths, <c>|DataDirectory|</c>, URIs and encryption keys mean what they mean to the app.
    /// </summary>
    private static DbConnection OpenWithoutCreate(DbConnection contextConnection)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = contextConnection.ConnectionString };
        if (!builder.TryGetValue("Mode", out var mode) || string.Equals(Convert.ToString(mode, CultureInfo.InvariantCulture), "ReadWriteCreate", StringComparison.OrdinalIgnoreCase))
        {
            builder["Mode"] = "ReadWrite";
        }

        var connection = DbProviderFactories.GetFactory(contextConnection)?.CreateConnection()
            ?? throw new InvalidOperationException($"The SQLite connection type {contextConnection.GetType().Name} has no provider factory.");
        connection.ConnectionString = builder.ConnectionString;
        return connection;
    }

    /// <summary>
    /// <c>SqliteException.SqliteErrorCode</c>, read by name: HealthKit does not reference Microsoft.Data.Sqlite, and
    /// the exception's <see cref="System.Runtime.InteropServices.ExternalException.ErrorCode"/> is not SQLite's code.
    /// </summary>
    private static int? SqliteErrorCode(DbException exception) =>
        exception.GetType().GetProperty("SqliteErrorCode")?.GetValue(exception) as int?;

    private static string List(List<string> ids) =>
        ids.Count <= MaxListed ? string.Join(", ", ids) : string.Join(", ", ids.GetRange(0, MaxListed)) + $", … ({ids.Count - MaxListed} more)";
}

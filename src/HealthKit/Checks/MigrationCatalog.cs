// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace HealthKit.Checks;

/// <summary>
/// What the check needs to know about one context type, worked out once per process: the migrations compiled into
/// this build, the query that reads the applied ones, the query that asks whether the history table exists, and
/// whether it was last seen to exist.
/// </summary>
internal sealed class MigrationCatalog<TContext>
    where TContext : DbContext
{
    internal const string SqliteProvider = "Microsoft.EntityFrameworkCore.Sqlite";
    internal const string NpgsqlProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";
    internal const string SqlServerProvider = "Microsoft.EntityFrameworkCore.SqlServer";

    private HashSet<string>? _migrations;
    private HistoryQueries? _queries;
    private volatile bool _historyTableSeen;

    /// <summary>
    /// Whether the history table existed at the last look. Once it exists it is not asked about again, so a healthy
    /// database costs one query per evaluation; a read that then fails clears it and the next evaluation asks again.
    /// </summary>
    public bool HistoryTableSeen
    {
        get => _historyTableSeen;
        set => _historyTableSeen = value;
    }

    public IReadOnlySet<string> GetMigrations(TContext context)
    {
        return _migrations ??= new HashSet<string>(context.GetService<IMigrationsAssembly>().Migrations.Keys, StringComparer.Ordinal);
    }

    public HistoryQueries GetQueries(TContext context)
    {
        return _queries ??= BuildQueries(context);
    }

    private static HistoryQueries BuildQueries(TContext context)
    {
        var sql = context.GetService<ISqlGenerationHelper>();
        var relational = RelationalOptionsExtension.Extract(context.GetService<IDbContextOptions>());
        var name = relational.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName;
        var schema = relational.MigrationsHistoryTableSchema;
        var table = sql.DelimitIdentifier(name, schema);

        // A plain SELECT of the history table, as IHistoryRepository.GetAppliedMigrationsAsync would run it but without
        // its existence query first (asked here only until the table is seen).
        var applied = string.Concat("SELECT ", sql.DelimitIdentifier("MigrationId"), " FROM ", table);

        // Whether the table exists, asked without touching it: a SELECT of a missing table is an error that PostgreSQL
        // writes to its server log (ERROR: relation does not exist, then the statement) on every evaluation. Npgsql's
        // own IHistoryRepository.ExistsAsync cannot be used for this: it always answers true.
        var provider = context.Database.ProviderName;
        var (exists, parameter) = provider switch
        {
            SqliteProvider => ("SELECT COUNT(*) FROM \"sqlite_master\" WHERE \"type\" = 'table' AND \"name\" = @name", name),
            NpgsqlProvider => ("SELECT to_regclass(@name) IS NOT NULL", table),
            SqlServerProvider => ("SELECT CASE WHEN OBJECT_ID(@name, N'U') IS NULL THEN 0 ELSE 1 END", table),
            _ => ((string?)null, (string?)null),
        };

        return new HistoryQueries(applied, exists, parameter, provider == SqliteProvider);
    }
}

/// <summary>The SQL one context type's check runs; <see cref="Exists"/> is null for a provider HealthKit has no query for.</summary>
internal sealed record HistoryQueries(string Applied, string? Exists, string? ExistsParameter, bool IsSqlite);

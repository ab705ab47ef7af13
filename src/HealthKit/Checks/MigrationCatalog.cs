// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace HealthKit.Checks;

/// <summary>
/// What the check needs to know about one context type, worked out once per process: the migrations compiled into
/// this build, and the one query that reads the applied ones.
/// </summary>
internal sealed class MigrationCatalog<TContext>
    where TContext : DbContext
{
    private HashSet<string>? _migrations;
    private string? _appliedQuery;

    public IReadOnlySet<string> GetMigrations(TContext context)
    {
        return _migrations ??= new HashSet<string>(context.GetService<IMigrationsAssembly>().Migrations.Keys, StringComparer.Ordinal);
    }

    /// <summary>
    /// A plain SELECT of the history table. <c>IHistoryRepository.GetAppliedMigrationsAsync</c> first asks whether
    /// the table exists, which doubles the cost of every evaluation; the table's absence is handled on failure instead.
    /// </summary>
    public string GetAppliedQuery(TContext context)
    {
        return _appliedQuery ??= BuildAppliedQuery(context);
    }

    private static string BuildAppliedQuery(TContext context)
    {
        var sql = context.GetService<ISqlGenerationHelper>();
        var relational = RelationalOptionsExtension.Extract(context.GetService<IDbContextOptions>());
        var table = sql.DelimitIdentifier(relational.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName, relational.MigrationsHistoryTableSchema);
        return string.Concat("SELECT ", sql.DelimitIdentifier("MigrationId"), " AS ", sql.DelimitIdentifier("Value"), " FROM ", table);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace HealthKit.Checks;

/// <summary>The migrations compiled into this build for one context type, read once per process.</summary>
internal sealed class MigrationCatalog<TContext>
    where TContext : DbContext
{
    private HashSet<string>? _migrations;

    public IReadOnlySet<string> GetMigrations(TContext context)
    {
        return _migrations ??= new HashSet<string>(context.GetService<IMigrationsAssembly>().Migrations.Keys, StringComparer.Ordinal);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace HealthKit.Tests.Checks;

/// <summary>A DbContext with two real migrations, for the migration checks on SQLite and PostgreSQL.</summary>
public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    public const string Initial = "20260101000000_Initial";
    public const string AddPrice = "20260102000000_AddPrice";

    public DbSet<Product> Products => Set<Product>();

    /// <summary>Applies the code's migrations, up to <paramref name="target"/> when given.</summary>
    public static async Task MigrateAsync(DbContextOptions<ShopContext> options, string? target = null)
    {
        await using var db = new ShopContext(options);
        await db.GetService<IMigrator>().MigrateAsync(target);
    }

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder) =>
        builder.ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));
}

public sealed class Product
{
    public int Id { get; set; }

    public string Name { get; set; } = string.Empty;

    public decimal Price { get; set; }
}

[DbContext(typeof(ShopContext))]
[Migration(ShopContext.Initial)]
public sealed class InitialMigration : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "Products",
            columns: table => new
            {
                Id = table.Column<int>(nullable: false),
                Name = table.Column<string>(nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_Products", x => x.Id));
    }

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.DropTable("Products");
}

[DbContext(typeof(ShopContext))]
[Migration(ShopContext.AddPrice)]
public sealed class AddPriceMigration : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.AddColumn<decimal>(name: "Price", table: "Products", nullable: false, defaultValue: 0m);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.DropColumn("Price", "Products");
}

/// <summary>Counts the commands a context sends, to show what one evaluation costs the database.</summary>
public sealed class CommandCounter : DbCommandInterceptor
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _count);
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _count);
        return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _count);
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Xunit.Abstractions;

namespace HealthKit.Tests.Checks;

/// <summary>
/// The discovered PostgreSQL checks (an NpgsqlDataSource, a DbContext on Npgsql) and AspNetCore.HealthChecks.NpgSql
/// on the builder, against a real PostgreSQL 15 that the tests stop and restart. In the postgres collection: the
/// server is shared and must not be stopped under another test.
/// </summary>
[Collection("postgres")]
public sealed class PostgresChecksTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const string DataSource = "datasource";
    private const string Context = "dbcontext";
    private const string Pass = """{"status":"pass"}""";
    private const string Warn = """{"status":"warn"}""";
    private const string Fail = """{"status":"fail"}""";

    // Long enough for a fresh pool to reconnect after PostgreSQL restarts, short enough to fail a broken test soon.
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(20);

    public static TheoryData<string, string> KindsAndOrders => new()
    {
        { DataSource, DependencyProbe.HealthFirst },
        { DataSource, DependencyProbe.DependencyFirst },
        { Context, DependencyProbe.HealthFirst },
        { Context, DependencyProbe.DependencyFirst },
    };

    [Theory]
    [MemberData(nameof(KindsAndOrders))]
    public async Task Probe_PostgresHealthyStoppedRestarted_200Then503Then200(string kind, string order)
    {
        var database = $"hk_{kind}_{order.Replace('-', '_')}";
        var connectionString = await postgres.CreateDatabaseAsync(database);
        string expectedName;
        Action<IServiceCollection> register;
        if (kind == DataSource)
        {
            expectedName = "postgres";
            register = services => services.AddNpgsqlDataSource(connectionString);
        }
        else
        {
            expectedName = nameof(ShopContext);
            await ShopContext.MigrateAsync(Options(connectionString));
            register = services => services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseNpgsql(connectionString)));
        }

        await using var app = await DependencyProbe.StartAsync(order, register);

        Assert.Equal([expectedName], DependencyProbe.CheckNames(app));
        var healthy = await DependencyProbe.ReadinessAsync(app);
        Assert.Equal(200, healthy.Status);
        Assert.Equal(Pass, healthy.Body);

        await postgres.StopAsync();
        try
        {
            // Bounded by the request timeout; the answer itself is what is asserted, not how fast it came.
            var down = await DependencyProbe.ReadinessAsync(app, TimeSpan.FromSeconds(15));
            output.WriteLine($"PostgreSQL stopped: {down.Status}; {DependencyProbe.Describe(app)}");
            Assert.Equal(503, down.Status);
            Assert.Equal(Fail, down.Body);
            Assert.Equal(HealthStatus.Unhealthy, DependencyProbe.LastReport(app).Entries[expectedName].Status);
        }
        finally
        {
            await postgres.StartAsync();
        }

        var recovered = await DependencyProbe.WaitForStatusAsync(app, 200, RecoveryTimeout);
        Assert.Equal(Pass, recovered.Body);
    }

    [Fact]
    public async Task Probe_PostgresMigrationPending_503_ThenApplied_200()
    {
        var connectionString = await postgres.CreateDatabaseAsync("hk_migration_pending");
        await ShopContext.MigrateAsync(Options(connectionString), ShopContext.Initial);
        await using var app = await StartWithContextAsync(connectionString);

        var pending = await DependencyProbe.ReadinessAsync(app);
        var description = DependencyProbe.LastReport(app).Entries[nameof(ShopContext)].Description;
        await ShopContext.MigrateAsync(Options(connectionString));
        var applied = await DependencyProbe.ReadinessAsync(app);

        Assert.Equal(503, pending.Status);
        Assert.Equal(Fail, pending.Body);
        Assert.Contains(ShopContext.AddPrice, description);
        Assert.Equal(200, applied.Status);
        Assert.Equal(Pass, applied.Body);
    }

    /// <summary>
    /// A database no migration was ever applied to has no history table. On PostgreSQL the provider cannot say so
    /// beforehand (Npgsql's <c>IHistoryRepository.ExistsAsync</c> always answers true), so the check must recognise
    /// the missing table from the failed read and report every migration as pending, under the configured policy.
    /// </summary>
    [Theory]
    [InlineData("Unhealthy", 503, "fail", "Unhealthy")]
    [InlineData("Degraded", 200, "warn", "Degraded")]
    [InlineData("Ignore", 200, "pass", "Healthy")]
    public async Task Probe_PostgresNoHistoryTable_AllPendingUnderPolicy(string policy, int status, string word, string checkStatus)
    {
        var connectionString = await postgres.CreateDatabaseAsync($"hk_no_history_{policy.ToLowerInvariant()}");
        await using var app = await StartWithContextAsync(connectionString, new() { ["DeployHealth:Checks:ShopContext:PendingMigrations"] = policy });

        var response = await DependencyProbe.ReadinessAsync(app);
        var entry = DependencyProbe.LastReport(app).Entries[nameof(ShopContext)];
        output.WriteLine($"{policy}: {response.Status}; {DependencyProbe.Describe(app)}");

        Assert.Equal(status, response.Status);
        Assert.Equal($$"""{"status":"{{word}}"}""", response.Body);
        Assert.Equal(checkStatus, entry.Status.ToString());
        if (policy != "Ignore")
        {
            Assert.Contains(ShopContext.Initial, entry.Description);
            Assert.Contains(ShopContext.AddPrice, entry.Description);
        }
    }

    [Fact]
    public async Task Probe_PostgresDatabaseAheadOfCode_200Warn()
    {
        var connectionString = await postgres.CreateDatabaseAsync("hk_migration_ahead");
        var options = Options(connectionString);
        await ShopContext.MigrateAsync(options);
        await using (var db = new ShopContext(options))
        {
            await db.Database.ExecuteSqlRawAsync("INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\") VALUES ('20260301000000_FromNewerBuild', '10.0.0')");
        }

        await using var app = await StartWithContextAsync(connectionString);

        var response = await DependencyProbe.ReadinessAsync(app);
        var entry = DependencyProbe.LastReport(app).Entries[nameof(ShopContext)];

        Assert.Equal(200, response.Status);
        Assert.Equal(Warn, response.Body);
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("20260301000000_FromNewerBuild", entry.Description);
    }

    /// <summary>
    /// AspNetCore.HealthChecks.NpgSql 3.0.0 was built against Npgsql 4; this shows it still runs on Npgsql 10 through
    /// HealthKit's builder. Its check turns every exception into Unhealthy, so a binary break (MissingMethodException)
    /// would look like a database failure: the healthy case and the type of the failure's exception are what tell.
    /// </summary>
    [Fact]
    public async Task Probe_XabarilAddNpgSqlOnNpgsql10_HealthyThenUnhealthyWhenStopped()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddNpgSql(postgres.ConnectionString),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00" });

        Assert.Equal(["npgsql"], DependencyProbe.CheckNames(app));
        var healthy = await DependencyProbe.ReadinessAsync(app);
        var healthyEntry = DependencyProbe.LastReport(app).Entries["npgsql"];
        Assert.True(healthy.Status == 200, $"{healthy}; {healthyEntry.Exception}");
        Assert.Equal(HealthStatus.Healthy, healthyEntry.Status);

        await postgres.StopAsync();
        try
        {
            var down = await DependencyProbe.ReadinessAsync(app, TimeSpan.FromSeconds(15));
            var entry = DependencyProbe.LastReport(app).Entries["npgsql"];
            output.WriteLine($"PostgreSQL stopped: {down.Status}; {entry.Exception?.GetType().FullName}: {entry.Exception?.Message}");

            Assert.Equal(503, down.Status);
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.IsAssignableFrom<NpgsqlException>(entry.Exception);
        }
        finally
        {
            await postgres.StartAsync();
        }

        await DependencyProbe.WaitForStatusAsync(app, 200, RecoveryTimeout);
    }

    private static DbContextOptions<ShopContext> Options(string connectionString) =>
        (DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(connectionString)).Options;

    private static Task<KestrelApp> StartWithContextAsync(string connectionString, Dictionary<string, string?>? configuration = null) =>
        DependencyProbe.StartAsync(DependencyProbe.HealthFirst, services => services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseNpgsql(connectionString))), configuration);
}

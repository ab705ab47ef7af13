// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
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

        // A cold first evaluation on a busy machine may miss its deadline: wait (bounded) for the healthy answer.
        var healthy = await DependencyProbe.WaitForStatusAsync(app, 200, RecoveryTimeout);
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

    /// <summary>
    /// Before the first migration the history table does not exist. Reading it anyway makes PostgreSQL log two ERROR
    /// lines (relation does not exist, the statement) per evaluation; asking whether it exists must not, and neither
    /// EF Core nor Npgsql may write anything into the app's logs for HealthKit's queries.
    /// </summary>
    [Fact]
    public async Task Evaluation_PostgresNoHistoryTable_ServerLogsNoErrorAndAppLogsNothing()
    {
        const string Database = "hk_no_history_log";
        var connectionString = await postgres.CreateDatabaseAsync(Database);
        await postgres.LogStatementsAsync(Database);
        await using var app = await StartWithContextAsync(connectionString, Unhurried);
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();
        await EvaluateUntilAsync(evaluator, HealthStatus.Unhealthy);

        await postgres.MarkLogAsync("hk-no-history-from");
        app.Logs.Clear();
        for (var i = 0; i < 3; i++)
        {
            await evaluator.EvaluateNowAsync();
        }

        await postgres.MarkLogAsync("hk-no-history-to");
        var serverLog = postgres.LogBetween("hk-no-history-from", "hk-no-history-to");
        var entry = DependencyProbe.LastReport(app).Entries[nameof(ShopContext)];
        output.WriteLine(string.Join("\n", serverLog));

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains(ShopContext.Initial, entry.Description);
        Assert.DoesNotContain(serverLog, line => line.Contains("ERROR", StringComparison.Ordinal));
        // On a loaded machine an evaluation may join one already running: at least one asked, none read the missing table.
        Assert.InRange(serverLog.Count(line => IsStatement(line) && line.Contains("to_regclass", StringComparison.Ordinal)), 1, 3);
        Assert.DoesNotContain(serverLog, line => IsStatement(line) && line.Contains("MigrationId", StringComparison.Ordinal));
        AssertNoDatabaseLogs(app);
    }

    [Fact]
    public async Task Evaluation_PostgresHealthyDatabase_OneHistoryQueryPerEvaluationAndNoAppLogs()
    {
        const string Database = "hk_healthy_log";
        var connectionString = await postgres.CreateDatabaseAsync(Database);
        // Before the migration: the migration's connection stays in this process's pool, and the setting applies only to
        // sessions that start after it.
        await postgres.LogStatementsAsync(Database);
        await ShopContext.MigrateAsync(Options(connectionString));
        await using var app = await StartWithContextAsync(connectionString, Unhurried);
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();
        await EvaluateUntilAsync(evaluator, HealthStatus.Healthy);

        await postgres.MarkLogAsync("hk-healthy-from");
        app.Logs.Clear();
        for (var i = 0; i < 5; i++)
        {
            await evaluator.EvaluateNowAsync();
        }

        await postgres.MarkLogAsync("hk-healthy-to");
        var statements = postgres.LogBetween("hk-healthy-from", "hk-healthy-to").Where(IsStatement).ToList();
        output.WriteLine(string.Join("\n", statements));

        Assert.Equal(HealthStatus.Healthy, DependencyProbe.LastReport(app).Entries[nameof(ShopContext)].Status);
        // One history read per evaluation that ran the check (an evaluation may join one already running), and no
        // existence query once the table has been seen: nothing else is sent.
        Assert.InRange(statements.Count(line => line.Contains("MigrationId", StringComparison.Ordinal)), 1, 5);
        Assert.All(statements, line => Assert.True(line.Contains("MigrationId", StringComparison.Ordinal) || line.Contains("DISCARD ALL", StringComparison.Ordinal), line));
        Assert.DoesNotContain(statements, line => line.Contains("to_regclass", StringComparison.Ordinal));
        AssertNoDatabaseLogs(app);

        // The app's own queries still log as the app configured them.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ShopContext>().Products.CountAsync();
        }

        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Name == "Microsoft.EntityFrameworkCore.Database.Command.CommandExecuted");
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
    /// AspNetCore.HealthChecks.NpgSql 9.0.0 was built against Npgsql 8; this shows it still runs on Npgsql 10 through
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

    /// <summary>The longest deadline the probe timeout allows: a cold first evaluation on a busy machine must not hit it.</summary>
    private static Dictionary<string, string?> Unhurried => new() { ["DeployHealth:CheckDeadline"] = "00:00:05" };

    /// <summary>
    /// Evaluates until the DbContext check reports <paramref name="status"/> (bounded): the first evaluation of a cold
    /// process builds the model and opens the first connection, and one that missed its deadline still runs.
    /// </summary>
    private static async Task EvaluateUntilAsync(HealthEvaluator evaluator, HealthStatus status)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            var entry = (await evaluator.EvaluateNowAsync()).Report.Entries[nameof(ShopContext)];
            if (entry.Status == status && entry.Exception is null)
            {
                return;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"The check never reported {status}; last: {entry.Status} ({entry.Description}).");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>A statement the server logged under log_statement = all: simple protocol or extended (Npgsql's parameters).</summary>
    private static bool IsStatement(string line) =>
        line.Contains("LOG:  statement:", StringComparison.Ordinal) || line.Contains("LOG:  execute ", StringComparison.Ordinal);

    /// <summary>Nothing from EF Core or Npgsql in the app's logs: HealthKit's queries are not the app's.</summary>
    private static void AssertNoDatabaseLogs(KestrelApp app)
    {
        // EF Core's Debug lines about resolving the context itself (initialized, disposed) remain; nothing from the queries.
        var records = app.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Information).Where(r =>
            r.Category?.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal) == true
            || r.Category?.StartsWith("Npgsql", StringComparison.Ordinal) == true).ToList();
        Assert.True(records.Count == 0, string.Join("\n", records.Select(r => $"{r.Level} {r.Category}: {r.Message}")));
    }

    private static DbContextOptions<ShopContext> Options(string connectionString) =>
        (DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(connectionString)).Options;

    private static Task<KestrelApp> StartWithContextAsync(string connectionString, Dictionary<string, string?>? configuration = null) =>
        DependencyProbe.StartAsync(DependencyProbe.HealthFirst, services => services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseNpgsql(connectionString))), configuration);
}

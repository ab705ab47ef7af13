// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using HealthKit.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Tests.Checks;

/// <summary>The discovered DbContext check on a real SQLite file, probed over real Kestrel.</summary>
public sealed class DbContextHealthCheckTests : IDisposable
{
    private const string IpHost = "10.0.3.7:8080";
    private readonly string _directory = Directory.CreateTempSubdirectory("healthkit-ef-").FullName;

    private string ConnectionString => $"Data Source={Path.Combine(_directory, "shop.db")};Pooling=False";

    private DbContextOptions<ShopContext> Options => ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseSqlite(ConnectionString)).Options as DbContextOptions<ShopContext> ?? throw new InvalidOperationException();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<KestrelApp> StartAsync(Action<IServiceCollection>? extra = null, Dictionary<string, string?>? configuration = null, CommandCounter? counter = null)
    {
        // A deadline far above a cold EF Core model build on a busy machine: these tests are about what the check
        // finds, not how fast (deadlines have tests of their own).
        var settings = new Dictionary<string, string?>
        {
            ["DeployHealth:CacheDuration"] = "00:00:00",
            ["DeployHealth:CheckDeadline"] = "00:00:30",
            ["DeployHealth:BalancerProbeTimeout"] = "00:01:00",
        };
        foreach (var pair in configuration ?? [])
        {
            settings[pair.Key] = pair.Value;
        }

        return KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddDeployHealth();
                builder.Services.AddDbContext<ShopContext>(o =>
                {
                    ShopContext.Configure(o.UseSqlite(ConnectionString));
                    if (counter is not null)
                    {
                        o.AddInterceptors(counter);
                    }
                });
                extra?.Invoke(builder.Services);
            },
            configuration: settings);
    }

    [Fact]
    public async Task Probe_AllMigrationsApplied_200()
    {
        await ShopContext.MigrateAsync(Options);
        await using var app = await StartAsync();

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"pass"}""", response.Body);
    }

    [Fact]
    public async Task Probe_MigrationPending_503_ThenApplied_200()
    {
        await ShopContext.MigrateAsync(Options, ShopContext.Initial);
        await using var app = await StartAsync();

        var pending = await RawHttp.GetAsync(app.Address, "/health", IpHost);
        var report = (await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync()).Report;
        await ShopContext.MigrateAsync(Options);
        var applied = await RawHttp.GetAsync(app.Address, "/health", IpHost);

        Assert.Equal(503, pending.Status);
        Assert.Equal("""{"status":"fail"}""", pending.Body);
        Assert.Contains(ShopContext.AddPrice, report.Entries["ShopContext"].Description);
        Assert.Equal(200, applied.Status);
    }

    [Fact]
    public async Task Probe_NoMigrationApplied_NoHistoryTable_503()
    {
        // The database exists (as the app's first query would have made it) but no migration ever ran.
        await using (var db = new ShopContext(Options))
        {
            await db.Database.OpenConnectionAsync();
        }

        await using var app = await StartAsync();

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);
        var entry = (await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync()).Report.Entries["ShopContext"];

        Assert.Equal(503, response.Status);
        Assert.Contains(ShopContext.Initial, entry.Description);
    }

    [Fact]
    public async Task Probe_DatabaseFileMissing_503DatabaseMissing_AndNoFileCreated()
    {
        // Tried: the app's SQLite file does not exist yet. SQLite creates a missing file on open; the check must not.
        await using var app = await StartAsync();

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);
        var entry = (await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().EvaluateNowAsync()).Report.Entries["ShopContext"];

        Assert.Equal(503, response.Status);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith("The database is missing", entry.Description, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public async Task Probe_DatabaseFileMissing_PendingMigrationsIgnored_StillMissingAndNoFileCreated()
    {
        await using var app = await StartAsync(configuration: new() { ["DeployHealth:Checks:ShopContext:PendingMigrations"] = "Ignore" });

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);

        Assert.Equal(503, response.Status);
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("initial")]
    [InlineData("all")]
    public async Task Evaluation_AnyMigrationState_WritesNothingToTheAppsLogs_AppQueriesStillLogged(string applied)
    {
        // Tried: no history table (EF Core logged "fail:" with a stack per evaluation), pending migrations, healthy
        // (an Information "Executed DbCommand" per evaluation), with the app's logging at Debug.
        await using (var db = new ShopContext(Options))
        {
            await db.Database.OpenConnectionAsync();
        }

        if (applied != "none")
        {
            await ShopContext.MigrateAsync(Options, applied == "initial" ? ShopContext.Initial : null);
        }

        var counter = new CommandCounter();
        await using var app = await StartAsync(counter: counter);
        var evaluator = app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>();
        app.Logs.Clear();
        for (var i = 0; i < 5; i++)
        {
            await evaluator.EvaluateNowAsync();
        }

        // Resolving the app's context still writes EF Core's Debug lines about the context itself (initialized,
        // disposed); what an app shows by default, Information and above, must have nothing from HealthKit's queries.
        var database = app.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Information && r.Category?.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal) == true).ToList();
        Assert.True(database.Count == 0, string.Join("\n", database.Select(r => $"{r.Level} {r.Category}: {r.Message}")));
        Assert.Equal(0, counter.Count);

        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ShopContext>().Database.ExecuteSqlRawAsync("SELECT 1");
        }

        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Name == "Microsoft.EntityFrameworkCore.Database.Command.CommandExecuted");
        Assert.Equal(1, counter.Count);
    }

    [Fact]
    public async Task Probe_DatabaseAheadOfCode_Degraded200Warn()
    {
        await ShopContext.MigrateAsync(Options);
        await using (var db = new ShopContext(Options))
        {
            await db.Database.ExecuteSqlRawAsync("INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\") VALUES ('20260301000000_FromNewerBuild', '10.0.0')");
        }

        await using var app = await StartAsync();

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"warn"}""", response.Body);
    }

    [Theory]
    [InlineData("Degraded", 200, "warn")]
    [InlineData("Ignore", 200, "pass")]
    [InlineData("Unhealthy", 503, "fail")]
    public async Task Probe_PendingMigrationsPolicy_Applies(string policy, int status, string word)
    {
        await ShopContext.MigrateAsync(Options, ShopContext.Initial);
        await using var app = await StartAsync(configuration: new() { ["DeployHealth:Checks:ShopContext:PendingMigrations"] = policy });

        var response = await RawHttp.GetAsync(app.Address, "/health", IpHost);

        Assert.Equal(status, response.Status);
        Assert.Equal($$"""{"status":"{{word}}"}""", response.Body);
    }

    [Fact]
    public void Discovery_OrderOfRegistration_GivesTheSameChecks()
    {
        static string[] Names(Action<IServiceCollection> register)
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
            services.AddLogging();
            register(services);
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<HealthKitRegistry>().Readiness.Where(r => !r.Tags.Contains("resources")).Select(r => r.Name).Order().ToArray();
        }

        var before = Names(s => { s.AddDeployHealth(); s.AddDbContext<ShopContext>(o => o.UseSqlite("Data Source=:memory:")); s.AddDistributedSqlCacheStandIn(); });
        var after = Names(s => { s.AddDbContext<ShopContext>(o => o.UseSqlite("Data Source=:memory:")); s.AddDistributedSqlCacheStandIn(); s.AddDeployHealth(); });

        Assert.Equal(["cache", "ShopContext"], before);
        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("pool")]
    [InlineData("factory")]
    public void Discovery_PooledAndFactoryContexts_AreFound(string kind)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddDeployHealth();
        if (kind == "pool")
        {
            services.AddDbContextPool<ShopContext>(o => o.UseSqlite("Data Source=:memory:"));
        }
        else
        {
            services.AddDbContextFactory<ShopContext>(o => o.UseSqlite("Data Source=:memory:"));
        }

        using var provider = services.BuildServiceProvider();
        var names = provider.GetRequiredService<HealthKitRegistry>().Readiness.Where(r => !r.Tags.Contains("resources")).Select(r => r.Name);

        Assert.Equal(["ShopContext"], names);
    }

    [Fact]
    public async Task Probe_FactoryRegisteredContext_IsChecked()
    {
        await ShopContext.MigrateAsync(Options, ShopContext.Initial);
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.AddDbContextFactory<ShopContext>(o => ShopContext.Configure(o.UseSqlite(ConnectionString)));
            builder.Services.AddDeployHealth();
        });

        Assert.Equal(503, (await RawHttp.GetAsync(app.Address, "/health", IpHost)).Status);
    }

    [Fact]
    public void Discovery_AutoDiscoverFalse_AddsNothing_RenameAndDisableApply()
    {
        static string[] Names(Dictionary<string, string?> config)
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
            services.AddLogging();
            services.AddDbContext<ShopContext>(o => o.UseSqlite("Data Source=:memory:"));
            services.AddDistributedSqlCacheStandIn();
            services.AddDeployHealth();
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<HealthKitRegistry>().Readiness.Where(r => !r.Tags.Contains("resources")).Select(r => r.Name).Order().ToArray();
        }

        Assert.Empty(Names(new() { ["DeployHealth:AutoDiscover"] = "false" }));
        Assert.Equal(["cache", "database"], Names(new() { ["DeployHealth:Checks:ShopContext:Name"] = "database" }));
        Assert.Equal(["ShopContext"], Names(new() { ["DeployHealth:Checks:cache:Enabled"] = "false" }));
    }
}

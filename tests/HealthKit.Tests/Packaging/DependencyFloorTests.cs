// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// HealthKit's dependency floors as a user meets them: NuGet resolves the highest minimum in an app's graph, so the
/// minimums HealthKit declares become every user's. A fresh <c>dotnet new web</c> app that already sits on the oldest
/// lines HealthKit supports (EF Core 8 with Npgsql's EF Core 8 provider, Npgsql 8, the Redis cache of .NET 8 and its
/// StackExchange.Redis) adds the packed HealthKit: the restore keeps every one of those versions, and the checks
/// HealthKit discovers in it (the DbContext with its migrations, the NpgsqlDataSource, Redis) run on them against a
/// real PostgreSQL and Redis.
/// </summary>
[Trait("Category", "Install")]
[Collection("install")]
public sealed class DependencyFloorTests : IClassFixture<PostgresServer>, IClassFixture<RedisServer>
{
    /// <summary>
    /// What HealthKit declares, and so demands of every app: the table in docs/architecture.md ("The dependency
    /// footprint"). Raising one raises it for every user; change it there, with the reason, and here.
    /// </summary>
    private static readonly Dictionary<string, string> Floors = new(StringComparer.Ordinal)
    {
        ["AspNetCore.HealthChecks.NpgSql"] = "8.0.2",
        ["AspNetCore.HealthChecks.Redis"] = "8.0.1",
        ["Microsoft.EntityFrameworkCore.Relational"] = "8.0.30",
        ["Microsoft.Extensions.Caching.StackExchangeRedis"] = "8.0.30",
        ["Npgsql"] = "8.0.3",
    };

    /// <summary>What the app already uses, at the lowest versions the package source serves for those lines.</summary>
    private static readonly Dictionary<string, string> Pinned = new(StringComparer.Ordinal)
    {
        ["Microsoft.EntityFrameworkCore.Relational"] = "8.0.30",
        ["Npgsql.EntityFrameworkCore.PostgreSQL"] = "8.0.0",
        ["Npgsql"] = "8.0.3",
        ["Microsoft.Extensions.Caching.StackExchangeRedis"] = "8.0.30",
        ["StackExchange.Redis"] = "2.7.27",
    };

    private const string MigrationId = "20261201000000_CreateOrders";
    private const string TargetHost = "10.0.3.7:8080";

    private const string AppProgram = """
        using HealthKit;
        using Microsoft.EntityFrameworkCore;
        using Npgsql;
        using Shop;

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddDeployHealth();

        var shop = builder.Configuration.GetConnectionString("Shop")!;
        builder.Services.AddDbContext<ShopContext>(o => o.UseNpgsql(shop));
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(shop));
        builder.Services.AddStackExchangeRedisCache(o => o.Configuration = builder.Configuration.GetConnectionString("Redis"));

        var app = builder.Build();

        // The deploy step that applies the migrations, as a request so the test sees the check before and after it.
        app.MapPost("/migrate", (ShopContext db) =>
        {
            db.Database.Migrate();
            return Results.Ok();
        });
        app.MapGet("/", () => "Hello World!");

        app.Run();

        """;

    // A migration written by hand as `dotnet ef migrations add` would write it (no tool needed to make one).
    private const string ShopSource = $$"""
        using Microsoft.EntityFrameworkCore;
        using Microsoft.EntityFrameworkCore.Infrastructure;
        using Microsoft.EntityFrameworkCore.Migrations;

        namespace Shop;

        public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
        {
            public DbSet<Order> Orders => Set<Order>();
        }

        public sealed class Order
        {
            public int Id { get; set; }

            public string Item { get; set; } = "";
        }

        [DbContext(typeof(ShopContext))]
        [Migration("{{MigrationId}}")]
        public sealed class CreateOrders : Migration
        {
            protected override void Up(MigrationBuilder migrationBuilder) =>
                migrationBuilder.Sql("CREATE TABLE \"Orders\" (\"Id\" serial PRIMARY KEY, \"Item\" text NOT NULL)");
        }

        """;

    private readonly LocalPackageFeed _feed;
    private readonly PostgresServer _postgres;
    private readonly RedisServer _redis;

    public DependencyFloorTests(LocalPackageFeed feed, PostgresServer postgres, RedisServer redis)
    {
        _feed = feed;
        _postgres = postgres;
        _redis = redis;
    }

    [Fact]
    public async Task AddDeployHealth_AppOnTheLowestSupportedVersions_KeepsThemAndTheDiscoveredChecksPass()
    {
        var connectionString = await _postgres.CreateDatabaseAsync("floor_shop");
        var template = await TemplateApp.CreateAsync(
            _feed,
            "web",
            _ => AppProgram,
            new Dictionary<string, string> { ["Shop.cs"] = ShopSource },
            Pinned);

        // The restore as the app got it: HealthKit asks for no more than its floors, and nothing was lifted.
        var (declared, resolved, logs) = ReadAssets(template.Directory, _feed.Version);
        Assert.True(logs.Count == 0, $"The app's restore logged warnings (NU1603: a version asked for is not served; NU19xx: a known vulnerability):\n{string.Join('\n', logs)}");
        Assert.Equal(Floors.OrderBy(p => p.Key), declared.OrderBy(p => p.Key));
        var lifted = new List<string>();
        foreach (var (id, version) in Pinned.Concat(Floors).Append(new("Microsoft.EntityFrameworkCore", "8.0.30")))
        {
            var got = resolved.GetValueOrDefault(id, "(missing)");
            if (got != version)
            {
                lifted.Add($"{id}: {version} expected, restored {got}");
            }
        }

        Assert.True(lifted.Count == 0, $"The app's restore ({template.Directory}) did not keep the lowest versions:\n{string.Join('\n', lifted)}");

        var probePort = ServerHost.GetFreePort();
        await using var app = await template.StartAsync(
            $"ConnectionStrings__Shop={connectionString}",
            $"ConnectionStrings__Redis={_redis.Configuration}",
            $"DeployHealth__ProbeListener__Port={probePort}",
            "DeployHealth__ProbeListener__Address=127.0.0.1",
            "DeployHealth__ProbeListener__DetailsForLoopback=true",

            // What is proven here is what the checks find on these versions, not how fast: EF Core 8 compiles its
            // first model and query on a loaded machine in more than the default 2 s.
            "DeployHealth__CheckDeadline=00:00:10",
            "DeployHealth__BalancerProbeTimeout=00:00:30");
        var probes = new Uri($"http://127.0.0.1:{probePort}");

        // Before the deploy step: EF Core 8's migration list and Npgsql 8 read the history table (there is none yet).
        RawResponse? details = null;
        await ServerHost.WaitUntilAsync(
            "the DbContext check to report the pending migration",
            async () =>
            {
                details = await RawHttp.GetAsync(probes, "/health", "127.0.0.1");
                // A cold first evaluation that ran out of its deadline reads as "starting", with the timeout as output.
                return Checks(details.Body).TryGetValue("ShopContext", out var check) && check.Output is { } output
                    && !output.StartsWith("Timed out after", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(60));
        var pending = Checks(details!.Body);
        Assert.True(details.Status == 503, $"Readiness with a pending migration: {details}\nApp output:\n{app.Output}");
        Assert.Equal(("fail", $"1 migration(s) not applied to the database: {MigrationId}."), pending["ShopContext"]);

        var migrated = await RawHttp.GetAsync(app.Address, "/migrate", TemplateApp.AllowedHost, method: "POST", extraHeaders: "Content-Length: 0\r\n");
        Assert.True(migrated.Status == 200, $"POST /migrate: {migrated}\nApp output:\n{app.Output}");

        await ServerHost.WaitUntilAsync(
            "readiness to pass once the migration is applied",
            async () => (details = await RawHttp.GetAsync(probes, "/health", "127.0.0.1")).Status == 200,
            TimeSpan.FromSeconds(60));
        var passing = Checks(details.Body);
        foreach (var name in new[] { "ShopContext", "postgres", "redis" })
        {
            Assert.True(
                passing.TryGetValue(name, out var check) && check == ("pass", null),
                $"The discovered check '{name}' does not pass on the lowest versions: {details}\nApp output:\n{app.Output}");
        }

        // And what the balancer sees on the app's own port.
        var probe = await RawHttp.GetAsync(app.Address, "/health", TargetHost);
        Assert.Equal((200, """{"status":"pass"}"""), (probe.Status, probe.Body));
    }

    /// <summary>
    /// From the app's obj/project.assets.json: the dependencies the HealthKit package declares (id → minimum), the
    /// version of every package the restore chose, and the warnings the restore logged.
    /// </summary>
    private static (Dictionary<string, string> Declared, Dictionary<string, string> Resolved, List<string> Logs) ReadAssets(string directory, string healthKitVersion)
    {
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "obj", "project.assets.json")));
        var declared = new Dictionary<string, string>(StringComparer.Ordinal);
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        var logs = new List<string>();
        if (assets.RootElement.TryGetProperty("logs", out var entries))
        {
            foreach (var entry in entries.EnumerateArray())
            {
                logs.Add($"{entry.GetProperty("code").GetString()}: {entry.GetProperty("message").GetString()}");
            }
        }

        foreach (var library in assets.RootElement.GetProperty("targets").GetProperty("net10.0").EnumerateObject())
        {
            var slash = library.Name.IndexOf('/', StringComparison.Ordinal);
            resolved[library.Name[..slash]] = library.Name[(slash + 1)..];
            if (library.Name == $"HealthKit/{healthKitVersion}")
            {
                foreach (var dependency in library.Value.GetProperty("dependencies").EnumerateObject())
                {
                    declared[dependency.Name] = dependency.Value.GetString()!;
                }
            }
        }

        return (declared, resolved, logs);
    }

    /// <summary>Each check of a health document: its status, and its output (written only when it does not pass).</summary>
    private static Dictionary<string, (string Status, string? Output)> Checks(string document)
    {
        var checks = new Dictionary<string, (string, string?)>(StringComparer.Ordinal);
        try
        {
            using var json = JsonDocument.Parse(document);
            if (json.RootElement.TryGetProperty("checks", out var entries))
            {
                foreach (var entry in entries.EnumerateObject())
                {
                    var first = entry.Value[0];
                    checks[entry.Name] = (
                        first.GetProperty("status").GetString()!,
                        first.TryGetProperty("output", out var output) ? output.GetString() : null);
                }
            }
        }
        catch (JsonException)
        {
            // Not a health document yet (the listener answered before the first evaluation): no checks.
        }

        return checks;
    }
}

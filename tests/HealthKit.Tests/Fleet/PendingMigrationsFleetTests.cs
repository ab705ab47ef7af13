// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using HealthKit.Tests.Checks;
using HealthKit.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Fleet;

/// <summary>
/// Three instances of an EF Core app with the fleet view on, on a real PostgreSQL and Redis: the discovered DbContext
/// check is Shared, yet a build whose migrations the database lacks is this instance's fault, so the fleet's
/// ejection budget must not keep it in rotation; a database that does not answer is the dependency's, and it must.
/// </summary>
[Collection("fleet")]
public sealed class PendingMigrationsFleetTests(PostgresServer postgres, RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Context = nameof(ShopContext);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly List<KestrelApp> _apps = [];
    private readonly DirectoryInfo _keys = ServerHost.CreateTempDirectory("fleet-migrations-keys");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        ServerHost.DeleteTempDirectory(_keys);
    }

    [Fact]
    public async Task Readiness_MigrationPendingOnEveryInstance_AllOutOfRotationUntilItIsApplied()
    {
        var database = await postgres.CreateDatabaseAsync("fleet_pending");
        await ShopContext.MigrateAsync(Options(database), ShopContext.Initial);
        var fleet = await StartAsync("pending", database);

        // Each instance has seen the other two on the board and still answers 503 for its own build's migration.
        for (var i = 0; i < fleet.Count; i++)
        {
            var instance = fleet[i];
            await ServerHost.WaitUntilAsync(
                $"instance {i} out of rotation with all three instances on its board",
                async () => await FleetApp.ReadinessAsync(instance) == 503 && Live(await FleetApp.DocumentAsync(instance)) == 3,
                Bound);
        }

        using (var document = JsonDocument.Parse(await FleetApp.DocumentAsync(fleet[0])))
        {
            output.WriteLine(document.RootElement.ToString());
            Assert.Equal("fail", document.RootElement.GetProperty("status").GetString());
            Assert.Contains(ShopContext.AddPrice, document.RootElement.ToString(), StringComparison.Ordinal);
        }

        for (var i = 0; i < fleet.Count; i++)
        {
            Assert.Equal(503, await FleetApp.ReadinessAsync(fleet[i]));
            Assert.DoesNotContain(fleet[i].Logs.GetSnapshot(), r => r.Id.Name is "FleetOutage" or "FleetOutageOutAllTheSame" && r.Message.Contains($"'{Context}'", StringComparison.Ordinal));
        }

        await ShopContext.MigrateAsync(Options(database));
        for (var i = 0; i < fleet.Count; i++)
        {
            var instance = fleet[i];
            await ServerHost.WaitUntilAsync($"instance {i} back in rotation", async () => await FleetApp.ReadinessAsync(instance) == 200, Bound);
        }
    }

    [Fact]
    public async Task Readiness_PostgresStoppedForTheWholeFleet_AtLeastTwoOfThreeStayInRotation()
    {
        var database = await postgres.CreateDatabaseAsync("fleet_outage");
        await ShopContext.MigrateAsync(Options(database));
        var fleet = await StartAsync("outage", database);
        for (var i = 0; i < fleet.Count; i++)
        {
            var instance = fleet[i];
            await ServerHost.WaitUntilAsync(
                $"instance {i} in rotation with all three on its board",
                async () => await FleetApp.ReadinessAsync(instance) == 200 && Live(await FleetApp.DocumentAsync(instance)) == 3,
                Bound);
        }

        var marks = fleet.Select(a => a.Logs.GetSnapshot().Count).ToArray();
        await postgres.StopAsync();
        try
        {
            // Every instance sees the DbContext check fail on most of the fleet: an outage of the database.
            for (var i = 0; i < fleet.Count; i++)
            {
                var instance = fleet[i];
                var mark = marks[i];
                await ServerHost.WaitUntilAsync(
                    $"instance {i} logging the outage of {Context}",
                    () => Task.FromResult(instance.Logs.GetSnapshot().Skip(mark).Any(r => r.Id.Name == "FleetOutage" && r.Message.Contains($"'{Context}'", StringComparison.Ordinal))),
                    Bound);
            }

            var answers = new List<int>();
            foreach (var instance in fleet)
            {
                answers.Add(await FleetApp.ReadinessAsync(instance));
            }

            output.WriteLine("answers during the outage: " + string.Join(' ', answers));
            Assert.True(answers.Count(a => a == 200) >= 2, $"in rotation during the outage: {string.Join(' ', answers)}");
            using var document = JsonDocument.Parse(await FleetApp.DocumentAsync(fleet[0]));
            Assert.Contains(
                document.RootElement.GetProperty("notes").EnumerateArray(),
                n => n.GetString()!.StartsWith($"fleet-wide outage: '{Context}' fails on", StringComparison.Ordinal)
                    || n.GetString()!.StartsWith("fleet-wide outage: 'postgres' fails on", StringComparison.Ordinal));
        }
        finally
        {
            await postgres.StartAsync();
        }

        for (var i = 0; i < fleet.Count; i++)
        {
            var instance = fleet[i];
            await ServerHost.WaitUntilAsync($"instance {i} passing again", async () => await FleetApp.ReadinessAsync(instance) == 200, Bound);
        }
    }

    private async Task<List<KestrelApp>> StartAsync(string name, string database)
    {
        var fleetName = name + "-" + RuntimeHelpers.GetHashCode(this).ToString("x", CultureInfo.InvariantCulture);
        var fleet = new List<KestrelApp>();
        for (var i = 0; i < 3; i++)
        {
            var app = await FleetApp.StartAsync(
                fleetName,
                database,
                redis.Port,
                _keys,
                services: s => s.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseNpgsql(database))));
            _apps.Add(app);
            fleet.Add(app);
        }

        return fleet;
    }

    /// <summary>The live instances the health+json document's fleet section counts, or 0 before the first exchange.</summary>
    private static int Live(string document)
    {
        using var json = JsonDocument.Parse(document);
        return json.RootElement.TryGetProperty("fleet", out var fleet) && fleet.TryGetProperty("live", out var live) ? live.GetInt32() : 0;
    }

    private static DbContextOptions<ShopContext> Options(string connectionString) =>
        (DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(connectionString)).Options;
}

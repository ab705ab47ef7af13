// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace HealthKit.Tests.Output;

/// <summary>
/// The exact values an app configures as its endpoints and secrets (ConnectionStrings, its NpgsqlDataSource, the Redis
/// cache's configuration) are removed from what an authorized caller sees, in the document and on the page served by
/// a real app, where no pattern could know them; ordinary words next to them stay.
/// </summary>
public sealed class ConfiguredValuesTests
{
    private const string Message = "ledgerbox refused ledger_rw on ledger_main; sessionstore denied cacheuser with R3dis!pw-9 (retrying)";

    private static async Task<string> PageAsync(KestrelApp app) =>
        (await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", app.ProbeAddress.Authority)).Body;

    [Fact]
    public async Task Output_MessageNamesTheAppsConfiguredHostsUsersDatabasesAndPasswords_AllRedacted()
    {
        // Tried: a check whose message repeats, bare, every value of the app's PostgreSQL connection string and Redis
        // configuration: one-word hosts, a user, a database name and a password no pattern recognises.
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: health => health.AddCheck("ledger", () => HealthCheckResult.Unhealthy(Message + " Zk7pass!x")),
            configureBuilder: builder => builder.Services.AddStackExchangeRedisCache(o => o.Configuration = "sessionstore:6390,user=cacheuser,password=R3dis!pw-9,abortConnect=false"),
            configuration: new Dictionary<string, string?>
            {
                ["ConnectionStrings:Ledger"] = "Host=ledgerbox;Port=5433;Username=ledger_rw;Password=Zk7pass!x;Database=ledger_main",
            });

        var checks = await DetailsApp.GetChecksAsync(app);
        var page = await PageAsync(app);

        Assert.Equal("*** refused *** on ***; *** denied *** with *** (retrying) ***", checks["ledger"].Output);
        foreach (var value in new[] { "ledgerbox", "ledger_rw", "ledger_main", "sessionstore", "cacheuser", "R3dis!pw-9", "Zk7pass!x" })
        {
            Assert.DoesNotContain(value, page);
        }

        Assert.Contains("refused *** on ***", page);
    }

    [Fact]
    public async Task Output_ValuesConfiguredInCode_DataSourceAndRedisOptions_Redacted()
    {
        // Tried: nothing under ConnectionStrings; the data source and the cache are configured in code only.
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: health => health.AddCheck("ledger", () => HealthCheckResult.Degraded("pgledger2 slow for ledger_reader in ledger_eu; kvstore (client shop-frontend) lagging")),
            configureBuilder: builder =>
            {
                builder.Services.AddNpgsqlDataSource("Host=pgledger2;Username=ledger_reader;Database=ledger_eu");
                builder.Services.AddStackExchangeRedisCache(o => o.ConfigurationOptions = new ConfigurationOptions
                {
                    EndPoints = { "kvstore:6379" },
                    ClientName = "shop-frontend",
                    AbortOnConnectFail = false,
                });
            });

        var checks = await DetailsApp.GetChecksAsync(app);

        Assert.Equal("*** slow for *** in ***; *** (client ***) lagging", checks["ledger"].Output);
    }

    [Fact]
    public async Task Output_OrdinaryWordsBesideConfiguredValues_Unchanged()
    {
        // Tried: configured values that are also parts of ordinary words ("orders" in "orders-db", "Orders"), and
        // messages made of check names, statuses, durations, file names and versions.
        const string Ordinary = "orders-db Degraded: p95 1.8 s over 00:01:00 (limit 1 s); dotnet.exe v1.2.3 on net10.0, see appsettings.json.";
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: health =>
            {
                health.AddCheck("orders-db", () => HealthCheckResult.Degraded(Ordinary), tags: ["db"]);
                health.AddCheck("cache01-ping", () => HealthCheckResult.Unhealthy("Healthy until 12:30:45, Unhealthy for 2.5 s."));
            },
            configuration: new Dictionary<string, string?>
            {
                ["ConnectionStrings:Orders"] = "Host=orders;Username=ops;Password=x9;Database=Orders",
            });

        var checks = await DetailsApp.GetChecksAsync(app);
        var page = await PageAsync(app);

        Assert.Equal(Ordinary, checks["orders-db"].Output);
        Assert.Equal("Healthy until 12:30:45, Unhealthy for 2.5 s.", checks["cache01-ping"].Output);
        Assert.Contains("cache01-ping", page);
        Assert.Contains(System.Text.Encodings.Web.HtmlEncoder.Default.Encode(Ordinary), page);
    }

    [Fact]
    public async Task Output_RedisConnectionOfTheApp_ItsClientNameRedacted()
    {
        // Tried: the app's own IConnectionMultiplexer, configured in code with a client name; HealthKit reads its
        // configuration only from the connection its Redis check took, never by connecting itself.
        // A closed port: the connection never succeeds, which is all this test needs of it.
        var endpoint = "127.0.0.1:" + ServerHost.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: health => health.AddCheck("queue", () => HealthCheckResult.Unhealthy("worker orders-worker-blue stuck")),
            configureBuilder: builder => builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(new ConfigurationOptions
            {
                EndPoints = { endpoint },
                ClientName = "orders-worker-blue",
                AbortOnConnectFail = false,
                ConnectTimeout = 1000,
            })),
            configuration: new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "true" });

        // The Redis check's first connect may outlast its deadline on a busy machine; the values are read again once
        // the connection exists, so wait (bounded) for that state rather than assert the first document.
        var output = (await DetailsApp.GetChecksAsync(app))["queue"].Output;
        for (var i = 0; i < 300 && output != "worker *** stuck"; i++)
        {
            await Task.Delay(100);
            output = (await DetailsApp.GetChecksAsync(app))["queue"].Output;
        }

        Assert.Equal("worker *** stuck", output);
    }
}

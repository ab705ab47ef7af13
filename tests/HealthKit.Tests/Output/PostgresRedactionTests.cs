// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Output;

/// <summary>
/// What an authorized caller sees when PostgreSQL goes away: the real Npgsql messages, through HealthKit's own
/// data-source check and AspNetCore.HealthChecks.NpgSql, with the connection string's password, the host and the
/// port kept out of the document and the page.
/// </summary>
[Collection("postgres")]
public sealed class PostgresRedactionTests(PostgresServer postgres, ITestOutputHelper log)
{
    private const string Password = "pg-Secr3t-7d1e";

    [Fact]
    public async Task Output_PostgresStopped_MessageOnlyWithoutPasswordHostOrPort()
    {
        var connectionString = postgres.ConnectionString + ";Password=" + Password;
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: health => health.AddNpgSql(connectionString, name: "npgsql"),
            configureBuilder: builder => builder.Services.AddNpgsqlDataSource(connectionString),
            configuration: new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "true", ["DeployHealth:CacheDuration"] = "00:00:00" });
        await DetailsApp.WaitForCheckAsync(app, "postgres", "pass", TimeSpan.FromSeconds(10));

        IReadOnlyDictionary<string, CheckOutput> checks;
        string page;
        try
        {
            await postgres.StopAsync();
            await DetailsApp.WaitForCheckAsync(app, "postgres", "fail", TimeSpan.FromSeconds(15));
            checks = await DetailsApp.GetChecksAsync(app);
            // A host name of its own: the page's title shows the Host header, which is the app's address, not the database's.
            page = (await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", "status.example")).Body;
        }
        finally
        {
            await postgres.StartAsync();
        }

        foreach (var name in new[] { "postgres", "npgsql" })
        {
            var output = checks[name].Output;
            log.WriteLine($"{name}: {checks[name]}");
            Assert.Equal("fail", checks[name].Status);
            Assert.False(string.IsNullOrWhiteSpace(output));
            AssertNothingOfTheServer(output!);
        }

        AssertNothingOfTheServer(page);
    }

    [Fact]
    public async Task Output_DatabaseDoesNotExist_RealNpgsqlMessageWithoutTheDatabaseOrUserName()
    {
        // Tried: the app's configured database does not exist on the server; PostgreSQL names it in its error.
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "shop_prod_eu", Password = Password };
        var connectionString = builder.ConnectionString;
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: _ => { },
            configureBuilder: b => b.Services.AddNpgsqlDataSource(connectionString),
            configuration: new Dictionary<string, string?>
            {
                ["ConnectionStrings:Shop"] = connectionString,
                ["DeployHealth:AutoDiscover"] = "true",
                ["DeployHealth:CacheDuration"] = "00:00:00",
            });

        var failed = await DetailsApp.WaitForCheckAsync(app, "postgres", "fail", TimeSpan.FromSeconds(30));
        log.WriteLine(failed.ToString());

        Assert.Contains("does not exist", failed.Output);
        Assert.DoesNotContain("shop_prod_eu", failed.Output);
        Assert.DoesNotContain(builder.Username!, failed.Output);
        AssertNothingOfTheServer(failed.Output!);
    }

    [Fact]
    public async Task Output_RoleDoesNotExist_RealPostgresMessageWithoutTheUserName_OnDocumentAndPage()
    {
        // Tried: the app's configured user is not a role on the server; PostgreSQL names it in its error
        // ('28000: role "..." does not exist'), and the database name sits next to it in the connection string.
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Username = "shop_reader_eu", Database = "shop_ledger_eu", Password = Password };
        var connectionString = builder.ConnectionString;
        await using var app = await DetailsApp.StartWithLoopbackAsync(
            checks: _ => { },
            configureBuilder: b => b.Services.AddNpgsqlDataSource(connectionString),
            configuration: new Dictionary<string, string?>
            {
                ["ConnectionStrings:Ledger"] = connectionString,
                ["DeployHealth:AutoDiscover"] = "true",
                ["DeployHealth:CacheDuration"] = "00:00:00",
            });

        var failed = await DetailsApp.WaitForCheckAsync(app, "postgres", "fail", TimeSpan.FromSeconds(30));
        var page = (await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", "status.example")).Body;
        log.WriteLine(failed.ToString());

        Assert.Contains("does not exist", failed.Output);
        foreach (var text in new[] { failed.Output!, page })
        {
            Assert.DoesNotContain("shop_reader_eu", text);
            Assert.DoesNotContain("shop_ledger_eu", text);
            AssertNothingOfTheServer(text);
        }

        Assert.Contains("role ***", failed.Output);
    }

    private void AssertNothingOfTheServer(string text)
    {
        Assert.DoesNotContain(Password, text);
        Assert.DoesNotContain("127.0.0.1", text);
        Assert.DoesNotContain(postgres.Port.ToString(CultureInfo.InvariantCulture), text);
        Assert.DoesNotContain("Host=", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" at Npgsql", text);
        Assert.DoesNotContain("Exception", text);
    }
}

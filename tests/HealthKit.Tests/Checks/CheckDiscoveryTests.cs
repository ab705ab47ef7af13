// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Registry;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Checks;

public sealed class CheckDiscoveryTests
{
    private static HealthCheckRegistration[] Registrations(Action<IServiceCollection> register, Dictionary<string, string?>? config = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config ?? []).Build());
        services.AddLogging();
        register(services);
        using var provider = services.BuildServiceProvider();
        return [.. provider.GetRequiredService<HealthKitRegistry>().Readiness];
    }

    [Fact]
    public async Task AppsOwnCheck_ChainedAfterAddDeployHealth_WinsOverTheDiscoveredOneOfTheSameName()
    {
        var registrations = Registrations(s =>
        {
            s.AddDistributedSqlCacheStandIn();
            s.AddDeployHealth().AddCheck("cache", () => HealthCheckResult.Healthy("mine"));
        });

        var cache = Assert.Single(registrations, r => r.Name == "cache");
        var result = await cache.Factory(new ServiceCollection().BuildServiceProvider()).CheckHealthAsync(new HealthCheckContext { Registration = cache });
        Assert.Equal("mine", result.Description);
    }

    [Fact]
    public void SmokePage_InConfigurationAndCode_RegisteredOnce()
    {
        // Smoke pages exist only in a host with an HTTP server; this one is registered and never started.
        var registrations = Registrations(
            s =>
            {
                s.AddSingleton<IServer>(_ => throw new InvalidOperationException("The server is not started in this test."));
                s.AddDeployHealth().AddSmokePage("/x", p => p.ExpectedText = "from code");
            },
            new() { ["DeployHealth:SmokePages:0"] = "/x" });

        Assert.Single(registrations, r => r.Name == "smoke /x");
    }

    [Fact]
    public async Task RenamedCheck_SettingsUnderTheNewName_Apply()
    {
        var directory = Directory.CreateTempSubdirectory("healthkit-rename-");
        try
        {
            var connection = $"Data Source={Path.Combine(directory.FullName, "shop.db")};Pooling=False";
            await ShopContext.MigrateAsync((DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseSqlite(connection)).Options, ShopContext.Initial);
            await using var app = await KestrelApp.StartAsync(
                builder =>
                {
                    builder.Services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseSqlite(connection)));
                    builder.Services.AddDeployHealth();
                },
                configuration: new Dictionary<string, string?>
                {
                    ["DeployHealth:Checks:ShopContext:Name"] = "database",
                    ["DeployHealth:Checks:database:PendingMigrations"] = "Degraded",
                    ["DeployHealth:Checks:database:Deadline"] = "00:00:01.5",
                });

            var registration = Assert.Single(app.Services.GetRequiredService<HealthKitRegistry>().Readiness, r => r.Name == "database");
            // A cold first evaluation on a busy machine can miss the 1.5 s deadline; wait (bounded) for one that did not.
            var entry = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report.Entries["database"];
            for (var attempt = 0; attempt < 30 && entry.Status != HealthStatus.Degraded; attempt++)
            {
                await Task.Delay(500);
                entry = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report.Entries["database"];
            }

            Assert.True(entry.Status == HealthStatus.Degraded, $"{entry.Status}: {entry.Description} {entry.Exception}");
            Assert.Equal(TimeSpan.FromSeconds(1.5), HealthEvaluator.DeadlineOf(registration, app.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DetailsPolicy_NotRegistered_StopsTheStartNamingIt()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddAuthorization();
                builder.Services.AddDeployHealth(o => o.DetailsPolicy = "Operators");
            },
            app => app.MapGet("/", () => "home")));

        Assert.Contains("DeployHealth:DetailsPolicy names the authorization policy 'Operators', which is not registered", exception.Message);
    }
}

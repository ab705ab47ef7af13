// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace HealthKit.Tests.Smoke;

/// <summary>
/// A smoke page is rendered on every evaluation. A page that starts a session stores one session per render in the
/// app's real Redis-backed session store, unless it asks <see cref="SmokeRenderHttpContextExtensions.IsSmokeRender"/>
/// and skips the write; requests from clients never carry the signal, whatever they send.
/// </summary>
[Collection("redis")]
public sealed class SmokeRenderFeatureTests(RedisServer redis)
{
    private const int Renders = 40;
    private const string Page = "/cart";

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, Renders)]
    public async Task Render_SessionWritingPage_StoreGrowsOnlyWithoutTheSignal(bool checksSignal, int expectedSessions)
    {
        var prefix = $"smoke-{Guid.NewGuid():N}:";
        await using var app = await StartAsync(prefix, checksSignal);
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        for (var i = 0; i < Renders; i++)
        {
            var entry = (await evaluator.EvaluateNowAsync()).Report.Entries["smoke " + Page];
            Assert.True(entry.Status == HealthStatus.Healthy, $"render {i}: {entry.Status} {entry.Description}");
        }

        Assert.Equal(expectedSessions, await CountKeysAsync(prefix));
    }

    [Fact]
    public async Task ClientRequest_NeverASmokeRender_EvenWithTheSmokeUserAgent_SessionWritten()
    {
        var prefix = $"smoke-{Guid.NewGuid():N}:";
        await using var app = await StartAsync(prefix, checksSignal: true);

        // Tried: what a client could copy from a smoke render (its User-Agent, Accept and Host) on a real socket.
        var response = await RawHttp.GetAsync(app.Address, Page, "localhost", extraHeaders: "User-Agent: HealthKit-Smoke/1.0\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("cart for a client", response.Body);
        Assert.Equal(1, await CountKeysAsync(prefix));
    }

    [Fact]
    public async Task Render_FeatureNamesThePage()
    {
        string? seen = null;
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.CacheDuration = TimeSpan.Zero).AddSmokePage("/orders?page=2"),
            web => web.MapGet("/orders", (HttpContext c) =>
            {
                seen = c.Features.Get<HealthKit.Smoke.SmokeRenderFeature>()?.Page;
                return "orders";
            }),
            new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "false" });

        await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync();

        Assert.Equal("/orders?page=2", seen);
    }

    /// <summary>An app whose sessions live in the shared Redis under <paramref name="prefix"/>, with a page that starts one.</summary>
    private Task<KestrelApp> StartAsync(string prefix, bool checksSignal) => KestrelApp.StartAsync(
        builder =>
        {
            builder.Services.AddStackExchangeRedisCache(o =>
            {
                o.Configuration = redis.Configuration;
                o.InstanceName = prefix;
            });
            builder.Services.AddSession();
            // Generous limits: a cold first render on a loaded machine must not time out and be counted differently.
            builder.Services.AddDeployHealth(o =>
            {
                o.CacheDuration = TimeSpan.Zero;
                o.CheckDeadline = TimeSpan.FromSeconds(30);
                o.BalancerProbeTimeout = TimeSpan.FromMinutes(1);

                // A render in every evaluation rather than once per the page's 30 s interval: each one is counted.
                o.Checks["smoke " + Page] = new DeployHealthCheckOptions { Interval = TimeSpan.FromTicks(1) };
            }).AddSmokePage(Page, p => p.Timeout = TimeSpan.FromSeconds(20));
        },
        web =>
        {
            web.UseSession();
            web.MapGet(Page, (HttpContext c) =>
            {
                var smoke = checksSignal && c.IsSmokeRender();
                if (!smoke)
                {
                    // What a shop's cart page does on a first visit: start the visitor's session.
                    c.Session.SetString("cart", "empty");
                }

                return smoke ? "cart for the smoke check" : "cart for a client";
            });
        },
        new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "false" });

    private async Task<int> CountKeysAsync(string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var count = 0;
        await foreach (var _ in server.KeysAsync(pattern: prefix + "*"))
        {
            count++;
        }

        return count;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Output;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Evaluation;

/// <summary>Per-check intervals through the main port, on real Kestrel: what a balancer's probes drive.</summary>
public sealed class CheckIntervalEndToEndTests
{
    private const string Operator = "Authorization: Bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n";

    [Fact]
    public async Task MainPort_SlowCheckOn30sInterval_RunsOnce_WhileTheFastOneRunsEveryCachePeriod_DetailsShowBothAges()
    {
        var slow = 0;
        var fast = 0;
        await using var app = await DetailsApp.StartWithPolicyAsync(
            health => health
                .AddAsyncCheck("slow", async () =>
                {
                    Interlocked.Increment(ref slow);
                    await Task.Delay(50);
                    return HealthCheckResult.Healthy();
                })
                .AddCheck("fast", () =>
                {
                    Interlocked.Increment(ref fast);
                    return HealthCheckResult.Healthy();
                }),
            configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:CacheDuration"] = "00:00:00.2",
                ["DeployHealth:Checks:slow:Interval"] = "00:00:30",
            });

        // Probes as a balancer sends them, until the fast check has run in three evaluations (bounded).
        JsonElement checks = default;
        for (var i = 0; i < 300 && Volatile.Read(ref fast) < 3; i++)
        {
            checks = await GetChecksAsync(app);
            await Task.Delay(100);
        }

        checks = await GetChecksAsync(app);
        Assert.True(Volatile.Read(ref fast) >= 3, $"the fast check ran {fast} times");
        Assert.Equal(1, Volatile.Read(ref slow));
        var slowAge = checks.GetProperty("slow")[0].GetProperty("age").GetDouble();
        var fastAge = checks.GetProperty("fast")[0].GetProperty("age").GetDouble();
        Assert.True(slowAge > fastAge, $"slow is {slowAge} s old, fast {fastAge} s");
        Assert.True(
            checks.GetProperty("slow")[0].GetProperty("time").GetDateTimeOffset() < checks.GetProperty("fast")[0].GetProperty("time").GetDateTimeOffset(),
            "the slow check's result was recorded before the fast one's last");
    }

    private static async Task<JsonElement> GetChecksAsync(KestrelApp app)
    {
        var response = await RawHttp.GetAsync(app.Address, "/health", app.Address.Authority, extraHeaders: Operator);
        Assert.Equal(200, response.Status);
        using var document = JsonDocument.Parse(response.Body);
        return document.RootElement.GetProperty("checks").Clone();
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The warm-up after start on a real app on Kestrel: a check that is slow only the first time (as EF Core's model
/// build is) keeps readiness "starting" instead of failing, until it is warm; one that never warms is reported as
/// failing once DeployHealth:StartupAllowance is spent.
/// </summary>
public sealed class WarmUpTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Readiness_CheckSlowOnlyTheFirstTime_StartingUntilWarmThenReady()
    {
        var runs = 0;
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("model", async () =>
            {
                // The first run builds what later runs reuse, and cannot be cancelled: six deadlines long.
                if (Interlocked.Increment(ref runs) == 1)
                {
                    await Task.Delay(TimeSpan.FromSeconds(3));
                }

                return HealthCheckResult.Healthy();
            }),
            configuration: new Dictionary<string, string?> { ["DeployHealth:Timeout"] = "00:00:00.500" });
        var verdict = app.Services.GetRequiredService<HealthVerdict>();

        var first = verdict.Readiness();
        var seen = new List<string?>();
        var current = first;
        var until = DateTime.UtcNow + Bound;
        while (!current.IsUp && DateTime.UtcNow < until)
        {
            seen.Add(current.Reason);
            await Task.Delay(50);
            current = verdict.Readiness();
        }

        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");

        Assert.Equal("starting", first.Reason);
        Assert.True(current.IsUp, $"Never ready; last reason {current.Reason}.");
        Assert.All(seen, reason => Assert.Equal("starting", reason));
        Assert.Equal(200, probe.Status);
        Assert.Contains("Warm-up finished", (await app.WaitForLogAsync("WarmUpFinished")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_CheckNeverWarm_FailingOnceTheAllowanceIsSpent()
    {
        using var release = new CancellationTokenSource();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("hang", async () =>
            {
                // Ignores the evaluator's token, as a connect to an address that drops packets does.
                await Task.Delay(Timeout.Infinite, release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return HealthCheckResult.Healthy();
            }),
            configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:Timeout"] = "00:00:00.300",
                ["DeployHealth:StartupAllowance"] = "00:00:02",
            });
        var verdict = app.Services.GetRequiredService<HealthVerdict>();

        var first = verdict.Readiness();
        var current = first;
        var until = DateTime.UtcNow + Bound;
        while (current.Reason == "starting" && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
            current = verdict.Readiness();
        }

        var spent = await app.WaitForLogAsync("WarmUpAllowanceSpent");
        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");
        await release.CancelAsync();

        Assert.Equal("starting", first.Reason);
        Assert.False(current.IsUp);
        Assert.Null(current.Reason);
        Assert.StartsWith("Timed out after 300 ms", current.Snapshot!.Report.Entries["hang"].Description, StringComparison.Ordinal);
        Assert.Contains("'hang'", spent.Message, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:StartupAllowance", spent.Message, StringComparison.Ordinal);
        Assert.Equal(503, probe.Status);
    }

    [Fact]
    public async Task Readiness_AllowanceZero_NoWarmUpFirstEvaluationDecides()
    {
        using var release = new CancellationTokenSource();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("hang", async () =>
            {
                await Task.Delay(Timeout.Infinite, release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return HealthCheckResult.Healthy();
            }),
            configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:Timeout"] = "00:00:00.300",
                ["DeployHealth:StartupAllowance"] = "00:00:00",
            });

        var ready = await app.Services.GetRequiredService<HealthVerdict>().ReadinessAsync();
        await release.CancelAsync();

        Assert.False(ready.IsUp);
        Assert.Null(ready.Reason);
        Assert.StartsWith("Timed out after 300 ms", ready.Snapshot!.Report.Entries["hang"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NegativeAllowance_FailsNamingTheKey()
    {
        // Tried: DeployHealth__StartupAllowance=-00:00:05.
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["DeployHealth:StartupAllowance"] = "-00:00:05" }));

        Assert.Contains("DeployHealth:StartupAllowance must not be negative", failure.Message, StringComparison.Ordinal);
    }
}

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
/// failing once DeployHealth:Startup:WarmUpLimit is spent.
/// </summary>
public sealed class WarmUpTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Readiness_CheckSlowOnlyTheFirstTime_StartingUntilWarmThenReady()
    {
        // The first run builds what later runs reuse, and cannot be cancelled: six deadlines long.
        var model = new SlowFirstRun(TimeSpan.FromSeconds(3));
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("model", model.RunAsync),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CheckDeadline"] = "00:00:00.500" });
        var verdict = app.Services.GetRequiredService<HealthVerdict>();

        var (first, seen, current) = await WatchAsync(verdict, v => v.IsUp);
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
                ["DeployHealth:CheckDeadline"] = "00:00:00.300",
                ["DeployHealth:Startup:WarmUpLimit"] = "00:00:02",
            });
        var verdict = app.Services.GetRequiredService<HealthVerdict>();

        var (first, _, current) = await WatchAsync(verdict, v => v.Reason != "starting");
        var spent = await app.WaitForLogAsync("WarmUpAllowanceSpent");
        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");
        await release.CancelAsync();

        Assert.Equal("starting", first.Reason);
        Assert.False(current.IsUp);
        Assert.Null(current.Reason);
        Assert.StartsWith("Timed out after 300 ms", current.Snapshot!.Report.Entries["hang"].Description, StringComparison.Ordinal);
        Assert.Contains("'hang'", spent.Message, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:Startup:WarmUpLimit", spent.Message, StringComparison.Ordinal);
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
                ["DeployHealth:CheckDeadline"] = "00:00:00.300",
                ["DeployHealth:Startup:WarmUpLimit"] = "00:00:00",
            });

        var ready = await app.Services.GetRequiredService<HealthVerdict>().ReadinessAsync();
        await release.CancelAsync();

        Assert.False(ready.IsUp);
        Assert.Null(ready.Reason);
        Assert.StartsWith("Timed out after 300 ms", ready.Snapshot!.Report.Entries["hang"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_FirstEvaluationPassesButSlowly_ReadyOnlyFromTheNextEvaluation()
    {
        // Within its 2 s deadline, but half of it: what EF Core's cold model build looks like.
        var model = new SlowFirstRun(TimeSpan.FromSeconds(1));
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("model", model.RunAsync));
        var verdict = app.Services.GetRequiredService<HealthVerdict>();

        var (first, seen, current) = await WatchAsync(verdict, v => v.IsUp);
        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");

        Assert.Equal("starting", first.Reason);
        Assert.True(current.IsUp, $"Never ready; last reason {current.Reason}.");
        Assert.All(seen, reason => Assert.Equal("starting", reason));
        Assert.True(model.Runs >= 2, "Ready from the evaluation that did the build.");
        Assert.True(current.Snapshot!.Report.Entries["model"].Duration < TimeSpan.FromSeconds(1), "Ready from the evaluation that did the build.");
        Assert.Equal(200, probe.Status);
    }

    [Fact]
    public async Task Readiness_FirstEvaluationFailsSlowly_FailureReportedAtOnce()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddAsyncCheck("db", async () =>
            {
                // Over a quarter of the 10 s deadline, and far enough inside it that a loaded machine cannot push it out.
                await Task.Delay(TimeSpan.FromSeconds(3));
                return HealthCheckResult.Unhealthy("Connection refused");
            }),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CheckDeadline"] = "00:00:10", ["DeployHealth:BalancerProbeTimeout"] = "00:00:30" });

        var ready = await app.Services.GetRequiredService<HealthVerdict>().ReadinessAsync();

        // A real answer, not "starting": a slow failure is still a failure, and the balancer is told at once.
        Assert.False(ready.IsUp);
        Assert.Null(ready.Reason);
        Assert.Equal("Connection refused", ready.Snapshot!.Report.Entries["db"].Description);
        Assert.Contains("Warm-up finished", (await app.WaitForLogAsync("WarmUpFinished")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NegativeAllowance_FailsNamingTheKey()
    {
        // Tried: DeployHealth__Startup__WarmUpLimit=-00:00:05.
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["DeployHealth:Startup:WarmUpLimit"] = "-00:00:05" }));

        Assert.Contains("DeployHealth:Startup:WarmUpLimit must not be negative", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads readiness every 50 ms until <paramref name="until"/> holds or the bound passes: the first verdict, the
    /// reasons seen before the last one, and the last one.
    /// </summary>
    private static async Task<(ProbeVerdict First, List<string?> Seen, ProbeVerdict Last)> WatchAsync(HealthVerdict verdict, Func<ProbeVerdict, bool> until)
    {
        var first = verdict.Readiness();
        var seen = new List<string?>();
        var current = first;
        var end = DateTime.UtcNow + Bound;
        while (!until(current) && DateTime.UtcNow < end)
        {
            seen.Add(current.Reason);
            await Task.Delay(50);
            current = verdict.Readiness();
        }

        return (first, seen, current);
    }

    /// <summary>A check that is slow only on its first run, as a check whose first run builds what later runs reuse.</summary>
    private sealed class SlowFirstRun(TimeSpan first)
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public async Task<HealthCheckResult> RunAsync()
        {
            if (Interlocked.Increment(ref _runs) == 1)
            {
                await Task.Delay(first);
            }

            return HealthCheckResult.Healthy();
        }
    }
}

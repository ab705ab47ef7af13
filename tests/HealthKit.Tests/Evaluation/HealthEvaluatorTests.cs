// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HealthKit.Tests.Evaluation;

[Trait("Tier", "Fast")]
public sealed class HealthEvaluatorTests
{
    private static (HealthEvaluator Evaluator, FakeTimeProvider Time, FakeLogCollector Logs, ServiceProvider Services) Create(
        Action<DeployHealthBuilder> checks, Action<DeployHealthOptions>? configure = null, TimeProvider? time = null) =>
        TestEvaluator.WithOptions(checks, configure, time);

    [Fact]
    public async Task GetAsync_WithinCacheDuration_ReusesResult_AfterItExpires_EvaluatesAgain()
    {
        var calls = 0;
        var (evaluator, time, _, services) = Create(b => b.AddCheck("counted", () => { Interlocked.Increment(ref calls); return HealthCheckResult.Healthy(); }));
        await using var _ = services;

        await evaluator.GetAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await evaluator.GetAsync();
        Assert.Equal(1, calls);

        time.Advance(TimeSpan.FromSeconds(1.5));
        await evaluator.GetAsync();
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetAsync_FiftyConcurrentProbes_JoinOneEvaluation()
    {
        var calls = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (evaluator, _, _, services) = Create(b => b.AddAsyncCheck("slow", async () =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return HealthCheckResult.Healthy();
        }));
        await using var _ = services;

        var probes = Enumerable.Range(0, 50).Select(_ => evaluator.GetAsync().AsTask()).ToArray();
        gate.SetResult();
        var snapshots = await Task.WhenAll(probes).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, calls);
        Assert.All(snapshots, s => Assert.Same(snapshots[0], s));
    }

    [Fact]
    public async Task GetAsync_CheckIgnoresItsToken_UnhealthyAtDeadline_AndNotStartedAgainWhileHung()
    {
        var calls = 0;
        var never = new TaskCompletionSource<HealthCheckResult>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (evaluator, time, _, services) = Create(
            b => b.AddAsyncCheck("hung", _ => { Interlocked.Increment(ref calls); entered.TrySetResult(); return never.Task; }),
            o => o.CheckDeadline = TimeSpan.FromMilliseconds(800));
        await using var _ = services;

        var first = evaluator.GetAsync().AsTask();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(800));
        var snapshot = await first.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HealthStatus.Unhealthy, snapshot.Status);
        Assert.Equal("Timed out after 800 ms.", snapshot.Report.Entries["hung"].Description);

        // The deadline counts from the start of the evaluation and its timer is set before GetAsync returns: time
        // can move on at once, whether or not the evaluation's thread has reached the hung check yet.
        time.Advance(TimeSpan.FromSeconds(5));
        var second = evaluator.GetAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(800));
        snapshot = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, calls);
        Assert.Contains("still running from an earlier evaluation", snapshot.Report.Entries["hung"].Description);
    }

    [Fact]
    public async Task GetAsync_CheckThrows_UnhealthyWithItsMessage_ProbeNeverFails()
    {
        var (evaluator, _, _, services) = Create(b => b.AddCheck("thrower", () => throw new InvalidOperationException("boom")));
        await using var _ = services;

        var snapshot = await evaluator.GetAsync();

        Assert.Equal(HealthStatus.Unhealthy, snapshot.Status);
        Assert.Equal("boom", snapshot.Report.Entries["thrower"].Description);
    }

    [Fact]
    public async Task GetAsync_NpgsqlRejectsAConnectionStringOption_DescriptionKeepsItsMessageAndTheRootCause()
    {
        // Npgsql wraps the lookup that failed: the innermost message alone ("The given key was not present in the
        // dictionary.") would hide which setting is wrong.
        var (evaluator, _, _, services) = Create(b => b.AddCheck("orders-db", () =>
        {
            using var source = NpgsqlDataSource.Create("Host=127.0.0.1;Max Pool Size=lots");
            return HealthCheckResult.Healthy();
        }));
        await using var _ = services;

        var entry = (await evaluator.GetAsync()).Report.Entries["orders-db"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith("Couldn't set max pool size", entry.Description, StringComparison.Ordinal);
        Assert.EndsWith("(cause: The given key was not present in the dictionary.)", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_FailureThreshold3_TwoFailuresDegraded_ThirdUnhealthy_SuccessResets()
    {
        var healthy = false;
        var (evaluator, time, _, services) = Create(
            b => b.AddCheck("flaky", () => healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("dropped packet")),
            o => o.Checks["flaky"] = new DeployHealthCheckOptions { FailureThreshold = 3 });
        await using var _ = services;

        async Task<HealthStatus> Next()
        {
            time.Advance(TimeSpan.FromSeconds(3));
            return (await evaluator.GetAsync()).Status;
        }

        Assert.Equal(HealthStatus.Degraded, await Next());
        Assert.Equal(HealthStatus.Degraded, await Next());
        Assert.Equal(HealthStatus.Unhealthy, await Next());
        healthy = true;
        Assert.Equal(HealthStatus.Healthy, await Next());
        healthy = false;
        Assert.Equal(HealthStatus.Degraded, await Next());
    }

    [Fact]
    public async Task GetAsync_FailureGracePeriod_CountsOnlyAfterTimeInError()
    {
        var (evaluator, time, _, services) = Create(
            b => b.AddCheck("flaky", () => HealthCheckResult.Unhealthy("down")),
            o => o.Checks["flaky"] = new DeployHealthCheckOptions { MinimumFailureDuration = TimeSpan.FromSeconds(10) });
        await using var _ = services;

        Assert.Equal(HealthStatus.Degraded, (await evaluator.GetAsync()).Status);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(HealthStatus.Degraded, (await evaluator.GetAsync()).Status);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(HealthStatus.Unhealthy, (await evaluator.GetAsync()).Status);
    }

    [Fact]
    public async Task GetAsync_DisabledCheck_IsNotRun()
    {
        var calls = 0;
        var (evaluator, _, _, services) = Create(
            b => b.AddCheck("off", () => { calls++; return HealthCheckResult.Unhealthy(); }),
            o => o.Checks["off"] = new DeployHealthCheckOptions { Enabled = false });
        await using var _ = services;

        var snapshot = await evaluator.GetAsync();

        Assert.Equal(HealthStatus.Healthy, snapshot.Status);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task GetAsync_PerCheckTimeout_OverridesDefault()
    {
        var (evaluator, time, _, services) = Create(
            b => b.AddAsyncCheck("slow", _ => new TaskCompletionSource<HealthCheckResult>().Task),
            o => o.Checks["slow"] = new DeployHealthCheckOptions { Deadline = TimeSpan.FromMilliseconds(250) });
        await using var _ = services;

        var pending = evaluator.GetAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(250));
        var snapshot = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("Timed out after 250 ms.", snapshot.Report.Entries["slow"].Description);
    }

    [Fact]
    public async Task GetAsync_BackgroundMode_ProbesReadLastResultWithoutEvaluating()
    {
        var calls = 0;
        var (evaluator, time, _, services) = Create(
            b => b.AddCheck("counted", () => { Interlocked.Increment(ref calls); return HealthCheckResult.Healthy(); }),
            o => o.BackgroundEvaluation = true);
        await using var _ = services;

        await evaluator.EvaluateNowAsync();

        // Past the cache period, within the result's bound (cache period + twice the deadline): the loop's next
        // evaluation is on its way, and probes still read the last one.
        time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 20; i++)
        {
            await evaluator.GetAsync();
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Evaluations_RepeatedFailure_LogsTransitionOnceEachWay()
    {
        var healthy = true;
        var (evaluator, time, logs, services) = Create(b => b.AddCheck("db", () => healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("refused")));
        await using var _ = services;

        for (var i = 0; i < 6; i++)
        {
            healthy = i is < 1 or >= 4;
            time.Advance(TimeSpan.FromSeconds(3));
            await evaluator.GetAsync();
        }

        var transitions = logs.GetSnapshot().Where(r => r.Id.Name is "CheckHealthy" or "CheckNotHealthy").Select(r => r.Id.Name!).ToArray();
        Assert.Equal(["CheckHealthy", "CheckNotHealthy", "CheckHealthy"], transitions);
        Assert.Contains("refused", logs.GetSnapshot().Single(r => r.Id.Name == "CheckNotHealthy").Message);
    }
}

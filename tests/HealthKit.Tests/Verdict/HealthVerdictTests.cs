// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Verdict;

/// <summary>
/// The verdict's rules in process, on fake time: gates before judges, the judges on the evaluation, liveness from the
/// <c>live</c> checks and the liveness gates only. Every door answering from it is in <see cref="LivenessDoorsTests"/>.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class HealthVerdictTests
{
    private static ServiceProvider Create(Action<DeployHealthBuilder> checks, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        collection.AddLogging();
        collection.AddSingleton<TimeProvider>(new FakeTimeProvider());
        checks(collection.AddDeployHealth(o => o.AutoDiscover = false));
        services?.Invoke(collection);
        return collection.BuildServiceProvider();
    }

    [Fact]
    public async Task Readiness_BeforeStartAndBeforeFirstEvaluation_IsStarting()
    {
        await using var provider = Create(b => b.AddCheck("ok", () => HealthCheckResult.Healthy()));
        var verdict = provider.GetRequiredService<HealthVerdict>();

        var now = verdict.Readiness();
        var waited = await verdict.ReadinessAsync();

        Assert.False(now.IsUp);
        Assert.Equal(VerdictReason.Starting, now.Cause);
        Assert.Equal(VerdictReason.Starting, waited.Cause);
        Assert.Equal("starting", now.Reason);
        Assert.Equal(503, waited.HttpStatusCode);
        Assert.Equal("starting", waited.Reason);
    }

    [Fact]
    public async Task ReadinessAsync_Started_FollowsTheEvaluation()
    {
        var healthy = true;
        await using var provider = Create(b => b.AddCheck("switch", () => healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy()));
        var verdict = provider.GetRequiredService<HealthVerdict>();
        var evaluator = provider.GetRequiredService<HealthEvaluator>();
        provider.GetRequiredService<DeployState>().MarkStarted();

        var up = await verdict.ReadinessAsync();
        healthy = false;
        await evaluator.EvaluateNowAsync();
        var down = verdict.Readiness();

        Assert.True(up.IsUp);
        Assert.Null(up.Reason);
        Assert.NotNull(up.Snapshot);
        Assert.False(down.IsUp);
        Assert.Null(down.Reason);
        Assert.Equal(VerdictReason.None, up.Cause);
        Assert.Equal(VerdictReason.ChecksFailing, down.Cause);
        Assert.Equal(["switch"], down.FailingChecks);
        Assert.Equal(HealthStatus.Unhealthy, down.Snapshot!.Report.Entries["switch"].Status);
    }

    [Fact]
    public async Task Liveness_BeforeTheFirstLiveEvaluation_AliveOnEveryDoorWithoutWaiting()
    {
        // One rule for every door: a door that can wait (the first middleware) does not wait for the first evaluation
        // of the live checks, and says what a door that must answer now says: alive, the evaluation started.
        var release = new TaskCompletionSource<HealthCheckResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var provider = Create(b => b.AddAsyncCheck("self", () => release.Task, [HealthKit.Registry.HealthKitRegistry.LiveTag]));
        var verdict = provider.GetRequiredService<HealthVerdict>();
        provider.GetRequiredService<DeployState>().MarkStarted();

        var waiting = verdict.LivenessAsync();
        var now = verdict.Liveness();

        Assert.True(waiting.IsCompletedSuccessfully);
        Assert.Equal(ProbeVerdict.Alive, await waiting);
        Assert.Equal(ProbeVerdict.Alive, now);

        release.SetResult(HealthCheckResult.Unhealthy("stuck"));
        await provider.GetRequiredKeyedService<HealthEvaluator>(HealthEvaluator.LivenessKey).GetAsync();
        var after = await verdict.LivenessAsync();
        Assert.False(after.IsUp);
        Assert.Equal(VerdictReason.ChecksFailing, after.Cause);
        Assert.Equal(["self"], after.FailingChecks);
    }

    [Fact]
    public async Task ReadinessAsync_DrainBeganWhileEvaluationRan_GateWins()
    {
        var release = new TaskCompletionSource<HealthCheckResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var provider = Create(b => b.AddAsyncCheck("slow", () =>
        {
            entered.TrySetResult();
            return release.Task;
        }));
        var verdict = provider.GetRequiredService<HealthVerdict>();
        var state = provider.GetRequiredService<DeployState>();
        state.MarkStarted();

        var pending = verdict.ReadinessAsync().AsTask();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        state.Drain();
        release.SetResult(HealthCheckResult.Healthy());
        var result = await pending.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(result.IsUp);
        Assert.Equal(VerdictReason.Draining, result.Cause);
        Assert.Equal("draining", result.Reason);
        Assert.NotNull(result.Snapshot);
    }

    [Fact]
    public async Task Readiness_GatesAndJudges_FirstClosedGateWins_JudgeReadsTheSnapshot()
    {
        var gate = new SwitchGate();
        var judge = new KeepInJudge();
        await using var provider = Create(
            b => b.AddCheck("down", () => HealthCheckResult.Unhealthy()),
            s =>
            {
                s.AddSingleton<IReadinessGate>(gate);
                s.AddSingleton<IReadinessJudge>(judge);
            });
        var verdict = provider.GetRequiredService<HealthVerdict>();
        provider.GetRequiredService<DeployState>().MarkStarted();

        var judged = await verdict.ReadinessAsync();
        gate.Reason = "overloaded: test";
        var gated = verdict.Readiness();

        Assert.Equal(HealthStatus.Degraded, judged.Status);
        Assert.Equal(VerdictReason.FleetOutage, judged.Cause);
        Assert.Equal("kept in", judged.Reason);
        Assert.Equal(200, judged.HttpStatusCode);
        Assert.Equal(503, gated.HttpStatusCode);
        Assert.Equal(VerdictReason.Overloaded, gated.Cause);
        Assert.Equal("overloaded: test", gated.Reason);
    }

    [Fact]
    public async Task Liveness_NeverFollowsDependencies_OnlyLivenessGates()
    {
        var gate = new StuckGate();
        await using var provider = Create(
            b => b.AddCheck("database", () => HealthCheckResult.Unhealthy()),
            s => s.AddSingleton<ILivenessGate>(gate));
        var verdict = provider.GetRequiredService<HealthVerdict>();
        provider.GetRequiredService<DeployState>().MarkStarted();
        await provider.GetRequiredService<HealthEvaluator>().EvaluateNowAsync();

        var alive = await verdict.LivenessAsync();
        gate.Reason = "heartbeat 'worker' overdue";
        var stuck = verdict.Liveness();

        Assert.True(alive.IsUp);
        Assert.Equal(503, stuck.HttpStatusCode);
        Assert.Equal("heartbeat 'worker' overdue", stuck.Reason);
    }

    [Fact]
    public async Task GetChangeToken_FiresOnDrainAndOnEvaluation()
    {
        await using var provider = Create(b => b.AddCheck("ok", () => HealthCheckResult.Healthy()));
        var verdict = provider.GetRequiredService<HealthVerdict>();
        var state = provider.GetRequiredService<DeployState>();

        var beforeDrain = verdict.GetChangeToken();
        state.Drain();
        var beforeEvaluation = verdict.GetChangeToken();
        Assert.False(beforeEvaluation.HasChanged);
        await provider.GetRequiredService<HealthEvaluator>().EvaluateNowAsync();

        Assert.True(beforeDrain.HasChanged);
        Assert.True(beforeEvaluation.HasChanged);
    }

    private sealed class SwitchGate : IReadinessGate
    {
        public string? Reason { get; set; }

        public VerdictReason NotReady(out string? detail)
        {
            detail = Reason;
            return detail is null ? VerdictReason.None : VerdictReason.Overloaded;
        }
    }

    private sealed class StuckGate : ILivenessGate
    {
        public string? Reason { get; set; }

        public VerdictReason NotLive(out string? detail)
        {
            detail = Reason;
            return detail is null ? VerdictReason.None : VerdictReason.Stuck;
        }
    }

    private sealed class KeepInJudge : IReadinessJudge
    {
        public HealthStatus Judge(HealthSnapshot snapshot, HealthStatus status, out VerdictReason cause, out string? reason)
        {
            cause = status == HealthStatus.Unhealthy ? VerdictReason.FleetOutage : VerdictReason.None;
            reason = status == HealthStatus.Unhealthy ? "kept in" : null;
            return status == HealthStatus.Unhealthy ? HealthStatus.Degraded : status;
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Grpc.Health.V1;
using HealthKit.Doors.Command;
using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using HealthKit.Tests.Infrastructure;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace HealthKit.Tests.Verdict;

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

    [Fact]
    public async Task Liveness_LiveTaggedCheckFails_EveryHttpDoorAndTheProbeCommandAnswerNotLive()
    {
        // A failing dependency check of the app's (not tagged live) never counts; the live-tagged one does, on the
        // main port (first middleware), Kestrel's connection door (HTTP/1.1 without Host), the probe listener, and
        // `--health-probe live`, which asks the probe listener when DeployHealth:ProbeListener:Port is set.
        var live = new LiveSwitch();
        var probePort = ServerHost.GetFreePort();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth()
                .AddCheck("db", () => HealthCheckResult.Unhealthy("down"))
                .AddCheck("self", live.Check, [HealthKit.Registry.HealthKitRegistry.LiveTag]),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:CacheDuration"] = "00:00:00.200",
                ["DeployHealth:ProbeListener:Port"] = probePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            });
        var command = ProbeCommand.Parse(
            ["app.dll", ProbeCommand.Flag, "live"],
            name => name switch
            {
                "DeployHealth__ProbeListener__Port" => probePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "DeployHealth__ProbeListener__Address" => "127.0.0.1",
                _ => null,
            })!;

        var alive = await DoorsAsync(app, command);
        live.Fail();
        var stuck = alive;
        await ServerHost.WaitUntilAsync(
            "every door to report the failing live check",
            async () => (stuck = await DoorsAsync(app, command)) is (503, 503, 503, 1),
            TimeSpan.FromSeconds(30));

        Assert.Equal((200, 200, 200, 0), alive);
        Assert.Equal((503, 503, 503, 1), stuck);
    }

    [Fact]
    public async Task Liveness_LiveTaggedCheckFails_GrpcLivenessNotServing()
    {
        var live = new LiveSwitch();
        await using var app = await GrpcTemplateApp.StartAsync(
            health => health.AddCheck("self", live.Check, [HealthKit.Registry.HealthKitRegistry.LiveTag]),
            new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00.200" });
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        var request = new HealthCheckRequest { Service = "liveness" };

        // The gRPC door never waits for an evaluation: the live checks' first result is waited for here.
        await app.Services.GetRequiredKeyedService<HealthEvaluator>(HealthEvaluator.LivenessKey).GetAsync();
        var serving = (await client.CheckAsync(request)).Status;
        live.Fail();
        var status = serving;
        await ServerHost.WaitUntilAsync(
            "gRPC liveness to report the failing live check",
            async () => (status = (await client.CheckAsync(request)).Status) == ServingStatus.NotServing,
            TimeSpan.FromSeconds(30));

        Assert.Equal(ServingStatus.Serving, serving);
        Assert.Equal(ServingStatus.NotServing, status);
    }

    private static async Task<(int Main, int Connection, int ProbePort, int Command)> DoorsAsync(KestrelApp app, Uri command)
    {
        var main = await RawHttp.GetAsync(app.Address, "/health/live", "127.0.0.1");
        var connection = await RawHttp.GetAsync(app.Address, "/health/live", host: null);
        var probePort = await RawHttp.GetAsync(app.ProbeAddress, "/health/live", host: null, version: "HTTP/1.0");
        using var output = new StringWriter();
        var exit = ProbeCommand.Run(command, output);
        return (main.Status, connection.Status, probePort.Status, exit);
    }

    /// <summary>A live check that passes until told to fail.</summary>
    private sealed class LiveSwitch
    {
        private volatile bool _failing;

        public void Fail() => _failing = true;

        public HealthCheckResult Check() => _failing ? HealthCheckResult.Unhealthy("stuck") : HealthCheckResult.Healthy();
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

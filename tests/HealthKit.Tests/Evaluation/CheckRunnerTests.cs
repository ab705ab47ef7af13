// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Evaluation;

[Trait("Tier", "Fast")]
public sealed class CheckRunnerTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly ServiceProvider _services = new ServiceCollection().BuildServiceProvider();
    private readonly Dictionary<string, CheckState> _states = [];
    private readonly CheckRunner _runner;
    private TaskCompletionSource<RunningEvaluation> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CheckRunnerTests()
    {
        _runner = new CheckRunner(_services.GetRequiredService<IServiceScopeFactory>(), _time, NullLogger.Instance, e => _finished.TrySetResult(e));
    }

    [Fact]
    public async Task Start_CheckIgnoresItsToken_TimedOutAtItsDeadline()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<HealthCheckResult>();
        // Started one after another on one thread: once the hung check is entered, the quick one before it has its entry.
        var plan = Plan(("quick", _ => Task.FromResult(HealthCheckResult.Healthy())), ("hung", _ => { entered.TrySetResult(); return never.Task; }));

        _runner.Start(plan);
        await entered.Task.WaitAsync(Wait);
        _time.Advance(TimeSpan.FromSeconds(2));
        var evaluation = await _finished.Task.WaitAsync(Wait);

        Assert.Equal(HealthStatus.Healthy, evaluation.Slots[0].Entry.Status);
        Assert.Equal(HealthStatus.Unhealthy, evaluation.Slots[1].Entry.Status);
        Assert.Equal("Timed out after 2000 ms.", evaluation.Slots[1].Entry.Description);
    }

    [Fact]
    public async Task Start_EarlierRunStillGoing_ReportedAsStillRunning_NeverStartedAgain()
    {
        var runs = 0;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<HealthCheckResult>();
        var plan = Plan(("hung", _ => { Interlocked.Increment(ref runs); entered.TrySetResult(); return never.Task; }));
        _runner.Start(plan);
        await entered.Task.WaitAsync(Wait);
        _time.Advance(TimeSpan.FromSeconds(2));
        await _finished.Task.WaitAsync(Wait);

        _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Whether or not a thread has claimed its slot by the deadline, the earlier run is what still goes on.
        var second = _runner.Start(plan);
        _time.Advance(TimeSpan.FromSeconds(2));
        var evaluation = await _finished.Task.WaitAsync(Wait);

        Assert.Same(second, evaluation);
        Assert.Equal("Timed out after 2000 ms; still running from an earlier evaluation.", evaluation.Slots[0].Entry.Description);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Start_CheckBlocksItsCallersThread_DeadlineHolds_OthersStartElsewhere_AndItIsLearned()
    {
        using var release = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var plan = Plan(
            ("blocking", _ => { entered.TrySetResult(); release.Wait(Wait); return Task.FromResult(HealthCheckResult.Healthy()); }),
            ("quick", _ => Task.FromResult(HealthCheckResult.Healthy())));

        var started = _runner.Start(plan);
        await entered.Task.WaitAsync(Wait);
        _time.Advance(CheckRunner.StallThreshold);
        await WaitForAsync(() => Volatile.Read(ref started.Slots[1].Phase) == RunningEvaluation.Slot.Done);
        _time.Advance(TimeSpan.FromSeconds(2) - CheckRunner.StallThreshold);
        var evaluation = await _finished.Task.WaitAsync(Wait);
        release.Set();

        Assert.Equal("Timed out after 2000 ms.", evaluation.Slots[0].Entry.Description);
        Assert.Equal(HealthStatus.Healthy, evaluation.Slots[1].Entry.Status);
        Assert.True(_states["blocking"].Blocks);
    }

    [Fact]
    public async Task Start_CheckThrows_EntryDescribesTheException_WithItsFailureStatus()
    {
        var plan = Plan(("throws", _ => throw new InvalidOperationException("Connection refused")));

        _runner.Start(plan);
        var evaluation = await _finished.Task.WaitAsync(Wait);

        Assert.Equal(HealthStatus.Unhealthy, evaluation.Slots[0].Entry.Status);
        Assert.Equal("Connection refused", evaluation.Slots[0].Entry.Description);
    }

    public void Dispose()
    {
        _runner.Dispose();
        _services.Dispose();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        // A bounded wait for a state another thread reaches, never an assertion after a sleep.
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private EvaluationPlan Plan(params (string Name, Func<CancellationToken, Task<HealthCheckResult>> Check)[] checks)
    {
        var registrations = new List<HealthCheckRegistration>();
        foreach (var (name, check) in checks)
        {
            registrations.Add(new HealthCheckRegistration(name, new DelegateCheck(check), null, null));
        }

        return EvaluationPlan.For(null, registrations, new DeployHealthOptions(), name => _states.TryGetValue(name, out var state) ? state : _states[name] = new CheckState());
    }

    private sealed class DelegateCheck(Func<CancellationToken, Task<HealthCheckResult>> check) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => check(cancellationToken);
    }
}

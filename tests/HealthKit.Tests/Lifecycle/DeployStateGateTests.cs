// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The deploy state as a readiness gate, on fake time: starting until the host has started and the start-up grace has
/// passed, draining while drained or stopping, and a signal for the doors that push at every change. The same on the
/// wire is in <see cref="DeployStateTests"/>.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class DeployStateGateTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));
    private readonly VerdictSignal _signal = new();

    [Fact]
    public void NotReady_BeforeTheHostStarted_Starting()
    {
        var state = Create(TimeSpan.Zero);

        Assert.Equal(VerdictReason.Starting, state.NotReady(out var detail));
        Assert.Equal("starting", detail);
        Assert.Equal("starting", state.NotReadyReason);
    }

    [Fact]
    public void NotReady_StartupGrace_StartingUntilItHasPassed()
    {
        var state = Create(Grace);
        state.MarkStarted();

        _time.Advance(Grace - TimeSpan.FromTicks(1));
        var inside = state.NotReady(out _);
        _time.Advance(TimeSpan.FromTicks(1));
        var after = state.NotReady(out var detail);

        Assert.Equal(VerdictReason.Starting, inside);
        Assert.Equal(VerdictReason.None, after);
        Assert.Null(detail);
        Assert.Null(state.NotReadyReason);
    }

    [Fact]
    public void NotReady_NoStartupGrace_ReadyOnceStarted()
    {
        var state = Create(TimeSpan.Zero);

        state.MarkStarted();

        Assert.Equal(VerdictReason.None, state.NotReady(out _));
    }

    [Fact]
    public void MarkStarted_Twice_TheGraceCountsFromTheFirst()
    {
        var state = Create(Grace);
        state.MarkStarted();
        _time.Advance(Grace);

        state.MarkStarted();

        Assert.Equal(VerdictReason.None, state.NotReady(out _));
    }

    [Fact]
    public void Drain_ThenResume_DrainingMeanwhile_EachChangeSignalled()
    {
        var state = Create(TimeSpan.Zero);
        state.MarkStarted();

        var beforeDrain = _signal.GetChangeToken();
        state.Drain();
        var drained = state.NotReady(out var detail);
        var beforeResume = _signal.GetChangeToken();
        var drainedBeforeResume = state.IsDraining;
        state.Resume();

        Assert.Equal(VerdictReason.Draining, drained);
        Assert.Equal("draining", detail);
        Assert.True(drainedBeforeResume);
        Assert.True(beforeDrain.HasChanged);
        Assert.True(beforeResume.HasChanged);
        Assert.False(state.IsDraining);
        Assert.Equal(VerdictReason.None, state.NotReady(out _));
    }

    [Fact]
    public void Drain_InsideTheStartupGrace_DrainingWins()
    {
        var state = Create(Grace);
        state.MarkStarted();

        state.Drain();

        Assert.Equal(VerdictReason.Draining, state.NotReady(out _));
    }

    [Fact]
    public void MarkStopping_ResumeCannotUndoIt()
    {
        var state = Create(TimeSpan.Zero);
        state.MarkStarted();
        var beforeStop = _signal.GetChangeToken();

        state.MarkStopping();
        state.Resume();

        Assert.True(beforeStop.HasChanged);
        Assert.True(state.IsStopping);
        Assert.True(state.IsDraining);
        Assert.Equal(VerdictReason.Draining, state.NotReady(out _));
    }

    private DeployState Create(TimeSpan grace) =>
        new(_time, Options.Create(new DeployHealthOptions { Startup = { ReadinessDelay = grace } }), _signal);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Verdict;

/// <summary>Flap tolerance on plain entries with a fake clock: a failure counts after N in a row and the grace period.</summary>
[Trait("Tier", "Fast")]
public sealed class FlapToleranceTests
{
    private static readonly HealthReportEntry Failure = new(HealthStatus.Unhealthy, "down", TimeSpan.Zero, null, null);
    private static readonly HealthReportEntry Pass = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, null);

    [Fact]
    public void Judge_FailuresBelowThresholdAndGrace_DegradedThenUnhealthy()
    {
        var time = new FakeTimeProvider();
        var state = new CheckState();
        var options = new DeployHealthCheckOptions { FailureThreshold = 3, MinimumFailureDuration = TimeSpan.FromSeconds(10) };

        var first = FlapTolerance.Judge(state, Failure, options, time);
        var second = FlapTolerance.Judge(state, Failure, options, time);
        var third = FlapTolerance.Judge(state, Failure, options, time);
        time.Advance(TimeSpan.FromSeconds(10));
        var counted = FlapTolerance.Judge(state, Failure, options, time);

        Assert.Equal(HealthStatus.Degraded, first.Status);
        Assert.StartsWith("Failure 1 tolerated (counts after 3 in a row and 10 s failing): down", first.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Degraded, second.Status);
        Assert.Equal(HealthStatus.Degraded, third.Status);
        Assert.Equal(HealthStatus.Unhealthy, counted.Status);
    }

    [Fact]
    public void Judge_APassInBetween_StartsTheRunAgain()
    {
        var time = new FakeTimeProvider();
        var state = new CheckState();
        var options = new DeployHealthCheckOptions { FailureThreshold = 2 };

        FlapTolerance.Judge(state, Failure, options, time);
        FlapTolerance.Judge(state, Pass, options, time);
        var again = FlapTolerance.Judge(state, Failure, options, time);
        var counted = FlapTolerance.Judge(state, Failure, options, time);

        Assert.Equal(HealthStatus.Degraded, again.Status);
        Assert.Equal(HealthStatus.Unhealthy, counted.Status);
    }

    [Fact]
    public void Judge_GracePassedBeforeTheThreshold_StillTolerated()
    {
        var time = new FakeTimeProvider();
        var state = new CheckState();
        var options = new DeployHealthCheckOptions { FailureThreshold = 3, MinimumFailureDuration = TimeSpan.FromSeconds(10) };

        FlapTolerance.Judge(state, Failure, options, time);
        time.Advance(TimeSpan.FromMinutes(5));
        var second = FlapTolerance.Judge(state, Failure, options, time);
        var third = FlapTolerance.Judge(state, Failure, options, time);

        // A long wait between two failures is one failure more, not a run: time alone never makes a failure count.
        Assert.Equal(HealthStatus.Degraded, second.Status);
        Assert.StartsWith("Failure 2 tolerated", second.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, third.Status);
    }

    [Fact]
    public void Judge_DegradedInBetween_EndsTheRunAndTheGraceClock()
    {
        var time = new FakeTimeProvider();
        var state = new CheckState();
        var options = new DeployHealthCheckOptions { FailureThreshold = 2, MinimumFailureDuration = TimeSpan.FromSeconds(10) };
        var degraded = new HealthReportEntry(HealthStatus.Degraded, "slow", TimeSpan.Zero, null, null);

        FlapTolerance.Judge(state, Failure, options, time);
        time.Advance(TimeSpan.FromSeconds(10));
        var passedThrough = FlapTolerance.Judge(state, degraded, options, time);
        FlapTolerance.Judge(state, Failure, options, time);
        var second = FlapTolerance.Judge(state, Failure, options, time);
        time.Advance(TimeSpan.FromSeconds(10));
        var counted = FlapTolerance.Judge(state, Failure, options, time);

        Assert.Same(degraded.Description, passedThrough.Description);
        Assert.Equal(HealthStatus.Degraded, passedThrough.Status);
        Assert.Equal(HealthStatus.Degraded, second.Status);
        Assert.Equal(HealthStatus.Unhealthy, counted.Status);
    }

    [Fact]
    public void Judge_NoOptions_EveryFailureCounts()
    {
        Assert.Equal(HealthStatus.Unhealthy, FlapTolerance.Judge(new CheckState(), Failure, null, new FakeTimeProvider()).Status);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;

namespace HealthKit.Tests.Balancers;

[Trait("Tier", "Fast")]
public sealed class DrainRuleTests
{
    private static readonly TimeSpan Maximum = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Busy = TimeSpan.Zero;

    private static ProberView Prober(ProberKind kind, double intervalSeconds, int failures, double sinceLastSeconds = 0.1) => new(
        1, ProberDoor.Http, BalancerFakes.Balancer, string.Empty, "/health", kind, ProberRole.Readiness, 10,
        TimeSpan.FromSeconds(intervalSeconds), TimeSpan.FromSeconds(sinceLastSeconds), failures == 0 ? 200 : 503, failures);

    [Fact]
    public void Decide_NoProberAndNoRequest_EndsAtOnce()
    {
        Assert.True(DrainRule.Decide([], TimeSpan.Zero, Quiet, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_NoProberButRequestsKeepComing_WaitsTheBlindAllowanceThenEnds()
    {
        Assert.False(DrainRule.Decide([], TimeSpan.FromSeconds(4), Busy, Maximum, null).Ends);
        Assert.True(DrainRule.Decide([], DrainRule.BlindAllowance, Busy, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_HaproxyWithFewerFailuresThanFall_Waits()
    {
        var decision = DrainRule.Decide([Prober(ProberKind.Haproxy, 0.5, 2)], TimeSpan.FromSeconds(1), Quiet, Maximum, null);

        Assert.False(decision.Ends);
        Assert.Contains("2 of 3 failing answers", decision.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_HaproxyAtFallButRequestsStillArrive_WaitsForQuiet()
    {
        Assert.False(DrainRule.Decide([Prober(ProberKind.Haproxy, 0.5, 3)], TimeSpan.FromSeconds(2), Busy, Maximum, null).Ends);
        Assert.True(DrainRule.Decide([Prober(ProberKind.Haproxy, 0.5, 3)], TimeSpan.FromSeconds(3), Quiet, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_ConfiguredThreshold_OverridesTheKindsDefault()
    {
        Assert.True(DrainRule.Decide([Prober(ProberKind.Haproxy, 0.5, 2)], TimeSpan.FromSeconds(2), Quiet, Maximum, configuredThreshold: 2).Ends);
        Assert.False(DrainRule.Decide([Prober(ProberKind.AwsElb, 5, 2)], TimeSpan.FromSeconds(12), Quiet, Maximum, configuredThreshold: 5).Ends);
    }

    [Fact]
    public void Decide_SlowProberNotYetOut_EndsAtTheMaximumNamingIt()
    {
        var decision = DrainRule.Decide([Prober(ProberKind.AwsElb, 30, 1)], Maximum, Quiet, Maximum, null);

        Assert.True(decision.Ends);
        Assert.Contains("Drain:Maximum", decision.Why, StringComparison.Ordinal);
        Assert.Contains("AWS load balancer", decision.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_ProberThatStoppedProbing_IsNoLongerWaitedFor()
    {
        Assert.True(DrainRule.Decide([Prober(ProberKind.Haproxy, 2, 1, sinceLastSeconds: 8)], TimeSpan.FromSeconds(9), Quiet, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_KnownProberSeenOnce_IsWaitedForUntilItsSecondProbeCouldHaveCome()
    {
        var once = Prober(ProberKind.Haproxy, 0, 0, sinceLastSeconds: 8) with { Count = 1 };

        Assert.False(DrainRule.Decide([once], TimeSpan.FromSeconds(1), Quiet, Maximum, null).Ends);
        Assert.True(DrainRule.Decide([once with { SinceLastSeen = TimeSpan.FromSeconds(32) }], TimeSpan.FromSeconds(25), Quiet, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_Kubelet_WaitsTheFloorWhateverItsAnswers()
    {
        var kubelet = Prober(ProberKind.Kubernetes, 1, 0);

        Assert.False(DrainRule.Decide([kubelet], TimeSpan.FromSeconds(4), Quiet, Maximum, null).Ends);
        Assert.True(DrainRule.Decide([kubelet], DrainRule.BlindAllowance, Quiet, Maximum, null).Ends);
        Assert.False(DrainRule.Decide([kubelet], TimeSpan.FromSeconds(8), Busy, Maximum, null).Ends);
    }

    [Fact]
    public void Decide_HaproxyAgent_IsOutAfterOneDrainAnswer()
    {
        Assert.True(DrainRule.Decide([Prober(ProberKind.HaproxyAgent, 2, 1)], TimeSpan.FromSeconds(2), Quiet, Maximum, configuredThreshold: 3).Ends);
    }

    [Theory]
    [InlineData((int)ProberKind.Haproxy, 10, 0.5, 0.4, true)]
    [InlineData((int)ProberKind.Haproxy, 10, 6, 12, true)]
    [InlineData((int)ProberKind.Haproxy, 10, 6, 14, false)]
    [InlineData((int)ProberKind.Haproxy, 1, 0, 8, true)]
    [InlineData((int)ProberKind.Haproxy, 1, 0, 22, false)]
    [InlineData((int)ProberKind.Unknown, 1, 5, 1, false)]
    [InlineData((int)ProberKind.Unknown, 2, 5, 1, true)]
    public void IsWatched_ProberThatProbedLately_Counts(int kind, long count, double intervalSeconds, double sinceLastSeconds, bool expected)
    {
        var prober = Prober((ProberKind)kind, intervalSeconds, 0, sinceLastSeconds) with { Count = count };

        Assert.Equal(expected, DrainRule.IsWatched(prober));
    }

    [Fact]
    public void IsWatched_LivenessOrAppPath_DoesNotCount()
    {
        Assert.False(DrainRule.IsWatched(Prober(ProberKind.Kubernetes, 1, 0) with { Role = ProberRole.Liveness }));
        Assert.False(DrainRule.IsWatched(Prober(ProberKind.AwsElb, 5, 0) with { Role = ProberRole.App }));
    }

    private static ProberView Watcher(int failures, int openStreams) => new(
        2, ProberDoor.Grpc, BalancerFakes.Balancer, "grpc-go/1.66.0", "Watch readiness", ProberKind.Unknown, ProberRole.Readiness, 1,
        TimeSpan.Zero, TimeSpan.FromMinutes(30), failures == 0 ? 200 : 503, failures, default, Streamed: true, OpenStreams: openStreams);

    [Fact]
    public void IsWatched_WatchStream_WhileOpenHoweverLongSilent()
    {
        Assert.True(DrainRule.IsWatched(Watcher(0, openStreams: 1)));
        Assert.False(DrainRule.IsWatched(Watcher(0, openStreams: 0)));
    }

    [Fact]
    public void Decide_WatchStreamNotYetToldNotServing_Waits()
    {
        var decision = DrainRule.Decide([Watcher(0, openStreams: 1)], TimeSpan.FromSeconds(1), Quiet, Maximum, configuredThreshold: 3);

        Assert.False(decision.Ends);
        Assert.Contains("0 of 1 failing answers", decision.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_WatchStreamToldNotServingOnceOrClosed_Ends()
    {
        Assert.True(DrainRule.Decide([Watcher(1, openStreams: 1)], TimeSpan.FromSeconds(1), Quiet, Maximum, configuredThreshold: 3).Ends);
        Assert.True(DrainRule.Decide([Watcher(0, openStreams: 0)], TimeSpan.FromSeconds(1), Quiet, Maximum, null).Ends);
    }

    [Fact]
    public void WentSilent_WatchStream_NeverWarned()
    {
        Assert.False(ProberWarnings.WentSilent(Watcher(0, openStreams: 0) with { Count = 10 }));
    }
}

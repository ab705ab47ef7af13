// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Fleet;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Fleet;

/// <summary>The ejection budget on given evaluations and fleet pictures; the real-server scenarios are in <see cref="FleetBehindHaproxyTests"/>.</summary>
public sealed class FleetJudgeTests
{
    private static readonly DateTimeOffset FailedAt = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Decide_SharedFailureOnOneOfThree_Ejects()
    {
        var decision = Decide(Snapshot(("postgres", HealthStatus.Unhealthy, true)), Peer("b", "PS", after: true), Peer("c", "PS", after: true));

        Assert.Equal(HealthStatus.Unhealthy, decision.Result);
        Assert.True(Assert.Single(decision.Failures).Ejected);
    }

    [Fact]
    public void Decide_SharedFailureOnTwoOfThree_StaysInWithWarning()
    {
        var decision = Decide(Snapshot(("postgres", HealthStatus.Unhealthy, true)), Peer("b", "FS", after: true), Peer("c", "PS", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Equal("fleet-wide outage: 'postgres' fails on 2 of 3 instances; staying in rotation", decision.Reason);
        Assert.False(Assert.Single(decision.Failures).Ejected);
    }

    [Fact]
    public void Decide_OthersNotYetReportedSinceTheFailure_WaitsInRotation()
    {
        var decision = Decide(Snapshot(("postgres", HealthStatus.Unhealthy, true)), Peer("b", "PS", after: false), Peer("c", "PS", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Equal("'postgres' fails; waiting for the other 2 instances' view before leaving rotation", decision.Reason);
    }

    [Fact]
    public void Decide_LocalFailureWhileTheWholeFleetFailsIt_Ejects()
    {
        var decision = Decide(Snapshot(("smoke /", HealthStatus.Unhealthy, false)), Peer("b", "FL", after: true), Peer("c", "FL", after: true));

        Assert.Equal(HealthStatus.Unhealthy, decision.Result);
    }

    [Fact]
    public void Decide_ScopeConfiguredShared_AppCheckCountsAgainstTheBudget()
    {
        var settings = new DeployHealthOptions();
        settings.Checks["payments-api"] = new DeployHealthCheckOptions { Scope = CheckScope.Shared };

        var decision = Decide(Snapshot(("payments-api", HealthStatus.Unhealthy, false)), settings, Peer("b", "FL", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
    }

    [Fact]
    public void Decide_WithoutPicture_JudgesAlone()
    {
        var snapshot = Snapshot(("postgres", HealthStatus.Unhealthy, true));

        var decision = FleetJudge.Decide(snapshot, HealthStatus.Unhealthy, picture: null, new DeployHealthOptions());

        Assert.Equal(HealthStatus.Unhealthy, decision.Result);
        Assert.Null(decision.Reason);
    }

    [Fact]
    public void Decide_AloneOnTheBoard_SharedFailureIsTheWholeFleetsAndStaysIn()
    {
        var decision = Decide(Snapshot(("redis", HealthStatus.Unhealthy, true)));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Contains("fails on 1 of 1 instances", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_MaxEjectedPercentZero_SharedFailureNeverEjects()
    {
        var settings = new DeployHealthOptions();
        settings.Fleet.MaxEjectedPercent = 0;

        var decision = Decide(Snapshot(("postgres", HealthStatus.Unhealthy, true)), settings, Peer("b", "PS", after: true), Peer("c", "PS", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
    }

    private static FleetJudge.Decision Decide(HealthSnapshot snapshot, params FleetEntry[] peers) => Decide(snapshot, new DeployHealthOptions(), peers);

    private static FleetJudge.Decision Decide(HealthSnapshot snapshot, DeployHealthOptions settings, params FleetEntry[] peers)
    {
        var self = new FleetEntry { Id = "self", Clock = 1_000, StoredAt = 1_000 };
        var picture = new FleetPicture("self", new BoardRead(2_000, false, [self, .. peers], 0), 0, FailedAt);
        return FleetJudge.Decide(snapshot, snapshot.Status, picture, settings);
    }

    private static HealthSnapshot Snapshot(params (string Name, HealthStatus Status, bool Shared)[] checks)
    {
        var entries = new Dictionary<string, HealthReportEntry>();
        var transitions = new Dictionary<string, DateTimeOffset>();
        foreach (var (name, status, shared) in checks)
        {
            entries[name] = new HealthReportEntry(status, "x", TimeSpan.Zero, null, null, shared ? ["ready", CheckScopes.SharedTag] : ["ready"]);
            transitions[name] = FailedAt;
        }

        return new HealthSnapshot(new HealthReport(entries, TimeSpan.Zero), 0, FailedAt, transitions);
    }

    /// <summary>A peer whose last published evaluation began after this instance saw the failure, or before it.</summary>
    private static FleetEntry Peer(string id, string postgres, bool after)
    {
        var started = FailedAt.ToUnixTimeMilliseconds() + (after ? 500 : -500);
        var checks = new Dictionary<string, string> { ["postgres"] = postgres, ["smoke /"] = postgres, ["payments-api"] = postgres };
        return new FleetEntry { Id = id, Host = id, EvaluationStarted = started, Clock = 5_000, StoredAt = 5_000, Checks = checks };
    }
}

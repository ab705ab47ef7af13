// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Fleet;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Fleet;

/// <summary>The ejection budget on given evaluations and fleet pictures; the real-server scenarios are in <see cref="FleetBehindHaproxyTests"/>.</summary>
public sealed class FleetJudgeTests
{
    private const string Waiting = "'postgres' fails; waiting for the board to confirm it fails here alone before leaving rotation";

    /// <summary>Redis's time when this instance first published the failure.</summary>
    private const long PublishedAt = 10_000;

    /// <summary>Redis's time of the read in which the peers were first seen as they are.</summary>
    private const long PeersSeenAt = 12_000;

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
        Assert.Equal(Waiting, decision.Reason);
        Assert.Empty(decision.Failures);
    }

    [Fact]
    public void Decide_OthersPassSinceThisFailingEvaluationBegan_WaitsForTheNextEvaluation()
    {
        // The dependency came back: the others' passes were first seen after this instance's failing evaluation began.
        var decision = Decide(Snapshot(("postgres", HealthStatus.Unhealthy, true)), new DeployHealthOptions(), selfFloor: PeersSeenAt - 1, Peer("b", "PS", after: true), Peer("c", "PS", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Equal(Waiting, decision.Reason);
    }

    [Fact]
    public void Decide_FailureNotYetPublished_WaitsInRotation()
    {
        var snapshot = Snapshot(("postgres", HealthStatus.Unhealthy, true));
        var self = new FleetEntry { Id = "self", Clock = 1_000, StoredAt = 1_000 };
        var report = new FleetPicture.SelfReport(snapshot, PeersSeenAt + 1, new Dictionary<string, FleetPicture.PublishedFailure>());
        var picture = new FleetPicture("self", new BoardRead(PeersSeenAt, false, [self, Peer("b", "PS", after: true), Peer("c", "PS", after: true)], 0), 0, FailedAt, report: report);

        var decision = FleetJudge.Decide(snapshot, snapshot.Status, picture, new DeployHealthOptions());

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Equal(Waiting, decision.Reason);
    }

    [Fact]
    public void Decide_AnotherFailureSinceThePublishedOne_WaitsInRotation()
    {
        // The published failure ended and a new one began (another transition time): the board has not seen this one.
        var snapshot = Snapshot(("postgres", HealthStatus.Unhealthy, true));
        var self = new FleetEntry { Id = "self", Clock = 1_000, StoredAt = 1_000 };
        var report = new FleetPicture.SelfReport(snapshot, PeersSeenAt + 1, new Dictionary<string, FleetPicture.PublishedFailure>
        {
            ["postgres"] = new(FailedAt.AddSeconds(-30), PublishedAt),
        });
        var picture = new FleetPicture("self", new BoardRead(PeersSeenAt, false, [self, Peer("b", "PS", after: true), Peer("c", "PS", after: true)], 0), 0, FailedAt, report: report);

        Assert.Equal(HealthStatus.Degraded, FleetJudge.Decide(snapshot, snapshot.Status, picture, new DeployHealthOptions()).Result);
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

    private static FleetJudge.Decision Decide(HealthSnapshot snapshot, DeployHealthOptions settings, params FleetEntry[] peers) =>
        Decide(snapshot, settings, selfFloor: PeersSeenAt + 1, peers);

    /// <summary>
    /// Judges <paramref name="snapshot"/> as published at <see cref="PublishedAt"/> on Redis's clock, its evaluation begun
    /// after <paramref name="selfFloor"/>, with the peers first seen in their statuses at <see cref="PeersSeenAt"/>.
    /// </summary>
    private static FleetJudge.Decision Decide(HealthSnapshot snapshot, DeployHealthOptions settings, long selfFloor, params FleetEntry[] peers)
    {
        var self = new FleetEntry { Id = "self", Clock = 1_000, StoredAt = 1_000 };
        var failures = new Dictionary<string, FleetPicture.PublishedFailure>();
        foreach (var (name, entry) in snapshot.Report.Entries)
        {
            if (entry.Status == HealthStatus.Unhealthy)
            {
                failures[name] = new FleetPicture.PublishedFailure(FailedAt, PublishedAt);
            }
        }

        var report = new FleetPicture.SelfReport(snapshot, selfFloor, failures);
        var picture = new FleetPicture("self", new BoardRead(PeersSeenAt, false, [self, .. peers], 0), 0, FailedAt, report: report);
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

    /// <summary>A peer whose last published evaluation began, on Redis's clock, after this instance published the failure, or before.</summary>
    private static FleetEntry Peer(string id, string postgres, bool after)
    {
        var checks = new Dictionary<string, string> { ["postgres"] = postgres, ["smoke /"] = postgres, ["payments-api"] = postgres };
        return new FleetEntry { Id = id, Host = id, EvaluationFloor = PublishedAt + (after ? 500 : -500), Clock = 5_000, StoredAt = 5_000, Checks = checks };
    }
}

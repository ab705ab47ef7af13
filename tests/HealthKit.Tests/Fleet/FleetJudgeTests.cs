// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Evaluation;
using HealthKit.Fleet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Fleet;

/// <summary>The ejection budget on given evaluations and fleet pictures; the real-server scenarios are in <see cref="FleetBehindHaproxyTests"/>.</summary>
[Trait("Tier", "Fast")]
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
    public void Decide_PendingMigrationsOnTheWholeFleet_EjectsThoughTheCheckIsShared()
    {
        var decision = Decide(PendingMigrations(), Peer("b", "FL", after: true), Peer("c", "FL", after: true));

        Assert.Equal(HealthStatus.Unhealthy, decision.Result);
        Assert.Equal("ShopContext", decision.EjectedBy);
        Assert.Empty(decision.Failures);
    }

    [Fact]
    public void Decide_PendingMigrationsWithScopeConfiguredShared_StillEjects()
    {
        var settings = new DeployHealthOptions();
        settings.Checks["ShopContext"] = new DeployHealthCheckOptions { Scope = CheckScope.Shared };

        Assert.Equal(HealthStatus.Unhealthy, Decide(PendingMigrations(), settings, Peer("b", "FL", after: true), Peer("c", "FL", after: true)).Result);
    }

    [Fact]
    public void Decide_DatabaseUnreachableHereWhileThePeersFindPendingMigrations_NoOutageSoItEjects()
    {
        // The peers reached the database (their finding is their build's): this instance's failure is its own.
        var decision = Decide(Snapshot(("ShopContext", HealthStatus.Unhealthy, true)), Peer("b", "FL", after: true), Peer("c", "FL", after: true));

        Assert.Equal(HealthStatus.Unhealthy, decision.Result);
        var failure = Assert.Single(decision.Failures);
        Assert.Equal(1, failure.Failing);
        Assert.True(failure.Ejected);
    }

    [Fact]
    public void Decide_DatabaseUnreachableOnTheWholeFleet_StaysInWithWarning()
    {
        var decision = Decide(Snapshot(("ShopContext", HealthStatus.Unhealthy, true)), Peer("b", "FS", after: true), Peer("c", "FS", after: true));

        Assert.Equal(HealthStatus.Degraded, decision.Result);
        Assert.Equal("fleet-wide outage: 'ShopContext' fails on 3 of 3 instances; staying in rotation", decision.Reason);
    }

    [Fact]
    public void Judge_FleetOutageWhileALocalCheckFails_LogsTheAnswerThatIsGiven()
    {
        var options = new DeployHealthOptions();
        options.Fleet.Enabled = true;
        var time = new FakeTimeProvider(FailedAt);
        var view = new FleetView(Options.Create(options), time);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var logger = new FakeLogger<FleetJudge>();
        var judge = new FleetJudge(view, new FleetMetrics(services.GetRequiredService<IMeterFactory>(), view), Options.Create(options), logger);

        var both = Snapshot(("postgres", HealthStatus.Unhealthy, true), ("smoke /", HealthStatus.Unhealthy, false));
        view.Update(Picture(both, time, Peer("b", "FS", after: true), Peer("c", "FS", after: true)));
        Assert.Equal(HealthStatus.Unhealthy, judge.Judge(both, both.Status, out _, out _));
        var outAllTheSame = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(500, outAllTheSame.Id.Id);
        Assert.Equal("FleetOutageOutAllTheSame", outAllTheSame.Id.Name);
        Assert.Contains("out of rotation (503) all the same, because 'smoke /' fails", outAllTheSame.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("200 warn", outAllTheSame.Message, StringComparison.Ordinal);

        // The local check passes again: the same outage now keeps the instance in, and the log says so.
        var outageOnly = Snapshot(("postgres", HealthStatus.Unhealthy, true), ("smoke /", HealthStatus.Healthy, false));
        view.Update(Picture(outageOnly, time, Peer("b", "FS", after: true), Peer("c", "FS", after: true)));
        Assert.Equal(HealthStatus.Degraded, judge.Judge(outageOnly, outageOnly.Status, out _, out _));
        var staysIn = logger.Collector.LatestRecord;
        Assert.Equal(265, staysIn.Id.Id);
        Assert.Contains("stays in rotation (200 warn)", staysIn.Message, StringComparison.Ordinal);
        Assert.Equal(2, logger.Collector.Count);
    }

    [Fact]
    public void Decide_ScopeConfiguredShared_AppCheckCountsAgainstTheBudget()
    {
        var settings = new DeployHealthOptions();
        settings.Checks["payments-api"] = new DeployHealthCheckOptions { Scope = CheckScope.Shared };

        // The peers run the same configuration, so they publish the check as Shared too.
        var decision = Decide(Snapshot(("payments-api", HealthStatus.Unhealthy, false)), settings, Peer("b", "FS", after: true));

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
    private static FleetJudge.Decision Decide(HealthSnapshot snapshot, DeployHealthOptions settings, long selfFloor, params FleetEntry[] peers) =>
        FleetJudge.Decide(snapshot, snapshot.Status, Picture(snapshot, selfFloor, peers), settings);

    private static FleetPicture Picture(HealthSnapshot snapshot, TimeProvider time, params FleetEntry[] peers) => Picture(snapshot, PeersSeenAt + 1, peers, time.GetTimestamp());

    private static FleetPicture Picture(HealthSnapshot snapshot, long selfFloor, FleetEntry[] peers, long readAt = 0)
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
        return new FleetPicture("self", new BoardRead(PeersSeenAt, false, [self, .. peers], 0), readAt, FailedAt, report: report);
    }

    /// <summary>The discovered DbContext check (Shared by its tag) failing on this instance's pending migrations.</summary>
    private static HealthSnapshot PendingMigrations()
    {
        var data = new Dictionary<string, object> { ["pendingMigrations"] = new List<string> { "20260102000000_AddPrice" }, [CheckScopes.LocalFindingKey] = true };
        var entries = new Dictionary<string, HealthReportEntry>
        {
            ["ShopContext"] = new(HealthStatus.Unhealthy, "1 migration(s) not applied", TimeSpan.Zero, null, data, ["ready", "db", CheckScopes.SharedTag]),
        };
        return new HealthSnapshot(new HealthReport(entries, TimeSpan.Zero), 0, FailedAt, new Dictionary<string, DateTimeOffset> { ["ShopContext"] = FailedAt });
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
        var checks = new Dictionary<string, string> { ["postgres"] = postgres, ["smoke /"] = postgres, ["payments-api"] = postgres, ["ShopContext"] = postgres };
        return new FleetEntry { Id = id, Host = id, EvaluationFloor = PublishedAt + (after ? 500 : -500), Clock = 5_000, StoredAt = 5_000, Checks = checks };
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Safety;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Safety;

/// <summary>
/// A worker's heartbeat on fake time: the liveness gate says "stuck" once a beat is overdue (never while the host
/// stops, never when the heartbeat's check is switched off), and the readiness check says how long ago it beat. On a
/// real app: <see cref="HeartbeatLivenessGateTests"/>.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class HeartbeatRulesTests
{
    private const string Worker = "orders-loop";

    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));
    private readonly DeployHealthOptions _options = new();
    private readonly DeployState _state;
    private readonly Heartbeats _heartbeats;

    public HeartbeatRulesTests()
    {
        _state = new DeployState(_time, Options.Create(_options), new VerdictSignal());
        _heartbeats = new Heartbeats(_time);
    }

    [Fact]
    public void NotLive_BeatOverdue_StuckUntilTheNextBeat()
    {
        var gate = Gate();
        _heartbeats.Beat(Worker);

        _time.Advance(MaxAge);
        var atMaxAge = gate.NotLive(out _);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        var overdue = gate.NotLive(out var detail);
        _heartbeats.Beat(Worker);
        var beaten = gate.NotLive(out _);

        Assert.Equal(VerdictReason.None, atMaxAge);
        Assert.Equal(VerdictReason.Stuck, overdue);
        Assert.Equal("stuck: heartbeat 'orders-loop' overdue (10.5 s since the last beat, at most 10 s allowed)", detail);
        Assert.Equal(VerdictReason.None, beaten);
    }

    [Fact]
    public void NotLive_NeverBeaten_CountsFromStart()
    {
        var gate = Gate();

        _time.Advance(MaxAge + TimeSpan.FromSeconds(1));

        Assert.Equal(VerdictReason.Stuck, gate.NotLive(out _));
    }

    [Fact]
    public void NotLive_HostStopping_NeverStuck()
    {
        // A worker stops beating as the host stops it: a restart then would only interrupt the shutdown.
        var gate = Gate();
        _time.Advance(MaxAge * 2);

        _state.MarkStopping();

        Assert.Equal(VerdictReason.None, gate.NotLive(out var detail));
        Assert.Null(detail);
    }

    [Fact]
    public void NotLive_HeartbeatCheckSwitchedOff_NeverStuck()
    {
        _options.Checks["heartbeat_" + Worker] = new DeployHealthCheckOptions { Enabled = false };
        var gate = Gate();

        _time.Advance(MaxAge * 2);

        Assert.Equal(VerdictReason.None, gate.NotLive(out _));
    }

    [Fact]
    public async Task Check_SaysHowLongAgoItBeat_AndFailsWithTheRegistrationsStatus()
    {
        var check = new HeartbeatHealthCheck(Worker, MaxAge, _heartbeats);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("heartbeat_" + Worker, check, HealthStatus.Degraded, null) };

        _time.Advance(TimeSpan.FromSeconds(3));
        var neverBeaten = await check.CheckHealthAsync(context);
        _time.Advance(MaxAge);
        var sinceStart = await check.CheckHealthAsync(context);
        _heartbeats.Beat(Worker);
        _time.Advance(TimeSpan.FromSeconds(2));
        var recent = await check.CheckHealthAsync(context);
        _time.Advance(MaxAge);
        var overdue = await check.CheckHealthAsync(context);

        Assert.Equal(HealthStatus.Healthy, neverBeaten.Status);
        Assert.Equal((HealthStatus.Degraded, "'orders-loop' has not beaten since start, 13 s ago (at most 10 s allowed)."), (sinceStart.Status, sinceStart.Description));
        Assert.Equal((HealthStatus.Healthy, "'orders-loop' beat 2 s ago."), (recent.Status, recent.Description));
        Assert.Equal((HealthStatus.Degraded, "'orders-loop' has not beaten for 12 s (at most 10 s allowed)."), (overdue.Status, overdue.Description));
    }

    private HeartbeatLivenessGate Gate() =>
        new([new HeartbeatDeclaration(Worker, MaxAge)], _heartbeats, _state, Options.Create(_options));
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The warm-up as a readiness judge, on given evaluations and fake time: a check that ran out of its deadline reads as
/// "starting" until the allowance is spent; a check that answered, passing or failing, ends the warm-up at once; the
/// first passing evaluation in which a check used more than a quarter of its deadline reads as "starting" and the next
/// one decides. On a real app on Kestrel: <see cref="WarmUpTests"/>.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class WarmUpJudgeTests : IAsyncDisposable
{
    private static readonly TimeSpan Allowance = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services;
    private readonly WarmUp _warmUp;
    private readonly TimeSpan _deadline;

    public WarmUpJudgeTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging(b => b.AddFakeLogging());
        services.AddSingleton<TimeProvider>(_time);
        services.AddDeployHealth(o =>
        {
            o.AutoDiscover = false;
            o.Startup.WarmUpLimit = Allowance;
        }).AddCheck("db", () => HealthCheckResult.Healthy());
        _services = services.BuildServiceProvider();
        _warmUp = _services.GetRequiredService<WarmUp>();
        _deadline = _services.GetRequiredService<HealthEvaluator>().DeadlineOf("db");
    }

    [Fact]
    public void Judge_BeforeTheHostStarted_LeavesTheStatusAlone()
    {
        var cold = Snapshot(HealthStatus.Unhealthy, HealthEvaluator.TimedOutPrefix + "2000 ms.", _deadline);

        Assert.Equal(HealthStatus.Unhealthy, _warmUp.Judge(cold, cold.Status, out var cause, out _));
        Assert.Equal(VerdictReason.None, cause);
        Assert.False(_warmUp.IsDone);
    }

    [Fact]
    public void Judge_CheckRanOutOfItsDeadline_StartingUntilTheAllowanceIsSpent()
    {
        _warmUp.Begin();
        var cold = Snapshot(HealthStatus.Unhealthy, HealthEvaluator.TimedOutPrefix + "2000 ms.", _deadline);
        var signalled = _services.GetRequiredService<VerdictSignal>().GetChangeToken();

        var inside = _warmUp.Judge(cold, cold.Status, out var insideCause, out var insideReason);
        _time.Advance(Allowance);
        var after = _warmUp.Judge(cold, cold.Status, out var afterCause, out _);

        Assert.Equal(HealthStatus.Unhealthy, inside);
        Assert.Equal(VerdictReason.Starting, insideCause);
        Assert.Equal(WarmUp.Starting, insideReason);
        Assert.Equal(HealthStatus.Unhealthy, after);
        Assert.Equal(VerdictReason.None, afterCause);
        Assert.True(_warmUp.IsDone);
        Assert.True(signalled.HasChanged);
        var spent = Assert.Single(Logs(), r => r.Id.Id == 131);
        Assert.Equal("WarmUpAllowanceSpent", spent.Id.Name);

        // The allowance's timer ended it, with no evaluation of the evaluator's own to name the cold checks from.
        Assert.Contains("no evaluation finished", spent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_CheckAnsweredWithAFailure_EndsTheWarmUpAtOnce()
    {
        _warmUp.Begin();
        var refused = Snapshot(HealthStatus.Unhealthy, "Connection refused", TimeSpan.FromMilliseconds(3));

        var status = _warmUp.Judge(refused, refused.Status, out var cause, out var reason);

        Assert.Equal(HealthStatus.Unhealthy, status);
        Assert.Equal(VerdictReason.None, cause);
        Assert.Null(reason);
        Assert.True(_warmUp.IsDone);
        Assert.Equal("WarmUpFinished", Assert.Single(Logs()).Id.Name);
    }

    [Fact]
    public void Judge_FirstPassThatUsedOverAQuarterOfTheDeadline_StartingForEveryReader_TheNextDecides()
    {
        _warmUp.Begin();
        var slow = Snapshot(HealthStatus.Healthy, null, (_deadline / 4) + TimeSpan.FromMilliseconds(1));
        var warm = Snapshot(HealthStatus.Healthy, null, TimeSpan.FromMilliseconds(1));

        var first = _warmUp.Judge(slow, slow.Status, out var firstCause, out _);
        var again = _warmUp.Judge(slow, slow.Status, out var againCause, out _);
        var next = _warmUp.Judge(warm, warm.Status, out var nextCause, out _);

        Assert.Equal((HealthStatus.Unhealthy, VerdictReason.Starting), (first, firstCause));
        Assert.Equal((HealthStatus.Unhealthy, VerdictReason.Starting), (again, againCause));
        Assert.Equal((HealthStatus.Healthy, VerdictReason.None), (next, nextCause));
        Assert.True(_warmUp.IsDone);
    }

    [Fact]
    public void Judge_PassWithinAQuarterOfTheDeadline_EndsTheWarmUpAtOnce()
    {
        _warmUp.Begin();
        var warm = Snapshot(HealthStatus.Healthy, null, _deadline / 4);

        Assert.Equal(HealthStatus.Healthy, _warmUp.Judge(warm, warm.Status, out var cause, out _));
        Assert.Equal(VerdictReason.None, cause);
        Assert.True(_warmUp.IsDone);
    }

    [Fact]
    public async Task Begin_AllowanceZero_NoWarmUp()
    {
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging()
            .AddSingleton<TimeProvider>(_time)
            .AddDeployHealth(o =>
            {
                o.AutoDiscover = false;
                o.Startup.WarmUpLimit = TimeSpan.Zero;
            }).Services.BuildServiceProvider();
        var warmUp = services.GetRequiredService<WarmUp>();
        var cold = Snapshot(HealthStatus.Unhealthy, HealthEvaluator.TimedOutPrefix + "2000 ms.", _deadline);

        warmUp.Begin();

        Assert.True(warmUp.IsDone);
        Assert.Equal(HealthStatus.Unhealthy, warmUp.Judge(cold, cold.Status, out var cause, out _));
        Assert.Equal(VerdictReason.None, cause);
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();

    private IReadOnlyList<FakeLogRecord> Logs() => [.. _services.GetFakeLogCollector().GetSnapshot().Where(r => r.Category == typeof(WarmUp).FullName)];

    private HealthSnapshot Snapshot(HealthStatus status, string? description, TimeSpan duration)
    {
        var entries = new Dictionary<string, HealthReportEntry>
        {
            ["db"] = new(status, description, duration, null, null, ["ready"]),
        };
        return new HealthSnapshot(new HealthReport(entries, duration), _time.GetTimestamp(), _time.GetUtcNow(), new Dictionary<string, DateTimeOffset>());
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Text.Json;
using HealthKit.Output;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Evaluation;

[Trait("Tier", "Fast")]
public sealed class CheckIntervalTests
{
    private static readonly Dictionary<string, string?> SlowEvery30s = new() { ["DeployHealth:Checks:slow:Interval"] = "00:00:30" };

    [Fact]
    public async Task EvaluateNowAsync_CheckWithinItsInterval_ReusesItsResult_RunsAgainOnceDue()
    {
        StrongBox<int> slow = new(), fast = new();
        await using var host = TestEvaluator.Create(b => b.AddCheck("slow", TestEvaluator.Counted(slow)).AddCheck("fast", TestEvaluator.Counted(fast)), SlowEvery30s);

        for (var second = 0; second < 30; second += 2)
        {
            await host.Evaluator.EvaluateNowAsync();
            host.Time.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(15, fast.Value);
        Assert.Equal(1, slow.Value);

        await host.Evaluator.EvaluateNowAsync();
        Assert.Equal(2, slow.Value);
    }

    [Fact]
    public async Task GetAsync_RegistrationPeriod_Honoured_ConfigurationWins()
    {
        StrongBox<int> periodic = new(), overridden = new();
        await using var host = TestEvaluator.Create(
            _ => { },
            new Dictionary<string, string?> { ["DeployHealth:Checks:overridden:Interval"] = "00:00:05" },
            services => services.AddHealthChecks()
                .Add(new HealthCheckRegistration("periodic", new CountingCheck(periodic), null, null) { Period = TimeSpan.FromSeconds(30) })
                .Add(new HealthCheckRegistration("overridden", new CountingCheck(overridden), null, null) { Period = TimeSpan.FromSeconds(30) }));

        await host.Evaluator.GetAsync();
        host.Time.Advance(TimeSpan.FromSeconds(10));
        await host.Evaluator.GetAsync();

        Assert.Equal(1, periodic.Value);
        Assert.Equal(2, overridden.Value);
    }

    [Fact]
    public async Task Snapshot_ReusedResult_KeepsItsOwnAge()
    {
        await using var host = TestEvaluator.Create(b => b.AddCheck("slow", () => HealthCheckResult.Healthy()).AddCheck("fast", () => HealthCheckResult.Healthy()), SlowEvery30s);

        await host.Evaluator.EvaluateNowAsync();
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var snapshot = await host.Evaluator.EvaluateNowAsync();

        var now = host.Time.GetTimestamp();
        Assert.Equal(TimeSpan.FromSeconds(12), snapshot.AgeOf("slow", host.Time, now));
        Assert.Equal(TimeSpan.Zero, snapshot.AgeOf("fast", host.Time, now));
        Assert.Equal(snapshot.EvaluatedAt - TimeSpan.FromSeconds(12), snapshot.RecordedAt("slow", host.Time));
    }

    [Fact]
    public async Task Document_ShowsEachChecksAgeInSeconds_AndWhenItsResultWasRecorded()
    {
        await using var host = TestEvaluator.Create(b => b.AddCheck("slow", () => HealthCheckResult.Healthy()).AddCheck("fast", () => HealthCheckResult.Healthy()), SlowEvery30s);
        await host.Evaluator.EvaluateNowAsync();
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var snapshot = await host.Evaluator.EvaluateNowAsync();
        host.Time.Advance(TimeSpan.FromSeconds(1));

        var document = host.Services.GetRequiredService<HealthDocumentWriter>().Write(new ProbeVerdict(HealthStatus.Healthy, VerdictReason.None, null, snapshot));

        using var json = JsonDocument.Parse(document);
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal(13.0, checks.GetProperty("slow")[0].GetProperty("age").GetDouble());
        Assert.Equal(1.0, checks.GetProperty("fast")[0].GetProperty("age").GetDouble());
        Assert.Equal(snapshot.EvaluatedAt - TimeSpan.FromSeconds(12), checks.GetProperty("slow")[0].GetProperty("time").GetDateTimeOffset());
        Assert.Equal(snapshot.EvaluatedAt, checks.GetProperty("fast")[0].GetProperty("time").GetDateTimeOffset());
    }

    [Fact]
    public async Task Last_BackgroundRefreshStuck_ResultPastItsBound_ReadsUnhealthyWithItsAge_AndAProbeEvaluatesAgain()
    {
        StrongBox<int> calls = new();
        await using var host = TestEvaluator.Create(
            b => b.AddCheck("slow", TestEvaluator.Counted(calls)),
            new Dictionary<string, string?>(SlowEvery30s) { ["DeployHealth:BackgroundEvaluation"] = "true" });
        await host.Evaluator.EvaluateNowAsync();

        // Interval 30 s + cache period 2 s + twice the 2 s deadline: 36 s. No evaluation since: the loop is stuck.
        host.Time.Advance(TimeSpan.FromSeconds(35));
        Assert.Equal(HealthStatus.Healthy, host.Evaluator.Last!.Report.Entries["slow"].Status);
        host.Time.Advance(TimeSpan.FromSeconds(60));

        var entry = host.Evaluator.Last!.Report.Entries["slow"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("Last result is 95 s old, past the 36 s it may reach with its interval of 30 s and its deadline of 2 s: the refresh is stuck.", entry.Description);

        await host.Evaluator.GetAsync();
        Assert.Equal(2, calls.Value);
    }

    [Fact]
    public async Task EvaluateNowAsync_DueCheckHangs_FailsAtItsDeadline_NeverServesItsOldPass()
    {
        var hang = false;
        var released = new TaskCompletionSource<HealthCheckResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = TestEvaluator.Create(b => b.AddAsyncCheck("slow", () => hang ? released.Task : Task.FromResult(HealthCheckResult.Healthy())), SlowEvery30s);
        await host.Evaluator.EvaluateNowAsync();

        host.Time.Advance(TimeSpan.FromSeconds(31));
        hang = true;
        var pending = host.Evaluator.EvaluateNowAsync();
        host.Time.Advance(TimeSpan.FromSeconds(2));
        var entry = (await pending).Report.Entries["slow"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("Timed out after 2000 ms.", entry.Description);
        released.SetResult(HealthCheckResult.Healthy());
    }

    [Fact]
    public async Task GetAsync_CachedResult_AllocatesNothing_WithIntervalsAndAges()
    {
        await using var host = TestEvaluator.Create(b => b.AddCheck("slow", () => HealthCheckResult.Healthy()).AddCheck("fast", () => HealthCheckResult.Healthy()), SlowEvery30s);
        await host.Evaluator.GetAsync();
        var evaluator = host.Evaluator;
        for (var i = 0; i < 100; i++)
        {
            _ = evaluator.GetAsync();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _ = evaluator.GetAsync();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("00:00:00", "DeployHealth:Checks:slow:Interval must be positive (was 00:00:00); remove it to run the check in every evaluation")]
    [InlineData("00:00:01", "DeployHealth:Checks:slow:Interval is 00:00:01, shorter than DeployHealth:CacheDuration (00:00:02): a check runs at most once per cache period; use at least 00:00:02, or remove it to run the check in every evaluation")]
    public async Task Options_IntervalZeroOrShorterThanTheCachePeriod_FailTheStartNamingTheKey(string interval, string message)
    {
        await using var host = TestEvaluator.Create(b => b.AddCheck("slow", () => HealthCheckResult.Healthy()), new Dictionary<string, string?> { ["DeployHealth:Checks:slow:Interval"] = interval });

        var failure = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value);

        Assert.Contains(message, failure.Failures);
    }

    private sealed class CountingCheck(StrongBox<int> calls) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref calls.Value);
            return Task.FromResult(HealthCheckResult.Healthy());
        }
    }
}

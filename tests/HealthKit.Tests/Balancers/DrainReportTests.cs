// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Lifecycle;

namespace HealthKit.Tests.Balancers;

/// <summary>The start-up report (event 20) states the drain rule in force.</summary>
public sealed class DrainReportTests
{
    [Fact]
    public async Task StartupReport_Defaults_StatesTheDrainThatFollowsTheBalancers()
    {
        await using var app = await LifecycleApp.StartAsync("app", BalancerDrainTests.Defaults);

        var report = await app.WaitForLogAsync("StartupReport");

        Assert.Contains("drain: until the balancers let go", report.Message, StringComparison.Ordinal);
        Assert.Contains("at most 30000 ms (DeployHealth:Drain:Maximum)", report.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartupReport_DrainDelaySet_StatesTheFixedDrain()
    {
        await using var app = await LifecycleApp.StartAsync("app", new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:02" });

        var report = await app.WaitForLogAsync("StartupReport");

        Assert.Contains("drain: fixed, 2000 ms (DeployHealth:Drain:Delay is set)", report.Message, StringComparison.Ordinal);
    }
}

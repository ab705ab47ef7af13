// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Diagnostics;
using HealthKit.Overload;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Overload;

/// <summary>
/// The overload gate's rule, fed measured waits directly (what its canary thread measures): the threshold, the
/// hysteresis that keeps it from flapping, the signal, the logs and the metric.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ThreadPoolStarvationRuleTests
{
    [Fact]
    public void Observe_WaitsAroundTheThreshold_OneTransitionEachWay_NoFlap()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var overloaded = new MetricCollector<int>(meters, HealthKitMetrics.MeterName, "healthkit.overloaded");
        var logger = new FakeLogger<ThreadPoolStarvationGate>();
        var signal = new VerdictSignal();
        var gate = new ThreadPoolStarvationGate(
            Options.Create(new DeployHealthOptions { OverloadThreshold = TimeSpan.FromSeconds(1) }),
            new FakeTimeProvider(),
            signal,
            new HealthKitMetrics(meters),
            logger);
        var token = signal.GetChangeToken();

        Assert.False(gate.Observe(TimeSpan.FromMilliseconds(999)));
        Assert.Null(gate.NotReadyReason);

        Assert.True(gate.Observe(TimeSpan.FromMilliseconds(1500)));
        Assert.Equal("overloaded: thread pool starved for 1500 ms", gate.NotReadyReason);
        Assert.True(token.HasChanged);

        // Hovering around the threshold, and single quick samples in between: still overloaded, no new transition.
        foreach (var ms in new[] { 900, 1100, 600, 100, 100, 700, 100, 100 })
        {
            Assert.False(gate.Observe(TimeSpan.FromMilliseconds(ms)));
            Assert.NotNull(gate.NotReadyReason);
        }

        Assert.True(gate.Observe(TimeSpan.FromMilliseconds(100)));
        Assert.Null(gate.NotReadyReason);
        Assert.False(gate.Observe(TimeSpan.FromMilliseconds(900)));

        Assert.Equal(["Overloaded", "OverloadEnded"], logger.Collector.GetSnapshot().Select(r => r.Id.Name));
        overloaded.RecordObservableInstruments();
        Assert.Equal(0, overloaded.LastMeasurement!.Value);
    }

    [Fact]
    public void Observe_ThresholdZero_DetectorOff()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var gate = new ThreadPoolStarvationGate(
            Options.Create(new DeployHealthOptions { ProbeListener = { Port = 8081 }, OverloadThreshold = TimeSpan.Zero }),
            new FakeTimeProvider(),
            new VerdictSignal(),
            new HealthKitMetrics(services.GetRequiredService<IMeterFactory>()),
            new FakeLogger<ThreadPoolStarvationGate>());

        Assert.False(gate.Enabled);
        Assert.True(new DeployHealthOptions { ProbeListener = { Port = 8081 } }.EffectiveOverloadThreshold == TimeSpan.FromSeconds(1));
        Assert.True(new DeployHealthOptions().EffectiveOverloadThreshold == TimeSpan.Zero);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Diagnostics;
using HealthKit.Overload;
using HealthKit.Tests.Infrastructure;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Overload;

/// <summary>The overload gate's rule, fed measured waits directly, and its effect on the wire.</summary>
public sealed class ThreadPoolStarvationGateTests
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
            TimeProvider.System,
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
            Options.Create(new DeployHealthOptions { ProbePort = 8081, OverloadThreshold = TimeSpan.Zero }),
            TimeProvider.System,
            new VerdictSignal(),
            new HealthKitMetrics(services.GetRequiredService<IMeterFactory>()),
            new FakeLogger<ThreadPoolStarvationGate>());

        Assert.False(gate.Enabled);
        Assert.True(new DeployHealthOptions { ProbePort = 8081 }.EffectiveOverloadThreshold == TimeSpan.FromSeconds(1));
        Assert.True(new DeployHealthOptions().EffectiveOverloadThreshold == TimeSpan.Zero);
    }

    [Fact]
    public async Task Overloaded_ReadinessFailsOnBothPorts_LivenessNever()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddCheck("db", () => HealthCheckResult.Healthy()),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:ProbePort"] = ServerHost.GetFreePort().ToString(),
                ["DeployHealth:ProbeAddress"] = "127.0.0.1",
                ["DeployHealth:OverloadThreshold"] = "00:00:30",
            });
        await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync();
        var gate = app.Services.GetRequiredService<ThreadPoolStarvationGate>();

        // Measured waits over the (deliberately high) threshold, as the canary reports them under starvation; fed
        // faster than the real canary's calm samples could end the episode.
        using var starving = new CancellationTokenSource();
        var feed = Task.Run(async () =>
        {
            while (!starving.IsCancellationRequested)
            {
                gate.Observe(TimeSpan.FromSeconds(31));
                await Task.Delay(20);
            }
        });
        try
        {
            await ServerHost.WaitUntilAsync("the gate to close", () => Task.FromResult(gate.NotReadyReason is not null), TimeSpan.FromSeconds(30));
            foreach (var address in new[] { app.Address, app.ProbeAddress })
            {
                var ready = await RawHttp.GetAsync(address, "/health/ready", "10.0.3.7:8080");
                var live = await RawHttp.GetAsync(address, "/health/live", "10.0.3.7:8080");
                Assert.Equal(503, ready.Status);
                Assert.Equal("""{"status":"fail"}""", ready.Body);
                Assert.Equal(200, live.Status);
            }
        }
        finally
        {
            await starving.CancelAsync();
            await feed;
        }

        Assert.Equal(240, (await app.WaitForLogAsync("Overloaded")).Id.Id);
    }
}

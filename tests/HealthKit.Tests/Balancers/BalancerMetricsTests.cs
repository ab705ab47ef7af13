// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HealthKit.Tests.Balancers;

/// <summary>The ledger on the <c>HealthKit</c> meter, read as an exporter would: probers seen, each one's interval and last answer.</summary>
public sealed class BalancerMetricsTests
{
    [Fact]
    public async Task Meter_ProbersSeen_IntervalAndLastAnswerPerProber()
    {
        await using var app = await LifecycleApp.StartAsync("app");
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var probers = new MetricCollector<int>(meters, "HealthKit", "healthkit.balancer.probers");
        using var intervals = new MetricCollector<double>(meters, "HealthKit", "healthkit.balancer.interval");
        using var statuses = new MetricCollector<double>(meters, "HealthKit", "healthkit.balancer.last_status");
        var host = $"127.0.0.1:{app.Address.Port}";
        for (var i = 0; i < 3; i++)
        {
            // Probes a few milliseconds apart, as no prober sends them: the ledger's clock counts whole milliseconds
            // (Environment.TickCount64, coarser on some kernels), so probes in one tick would have no interval.
            if (i > 0)
            {
                await Task.Delay(50);
            }

            await RawHttp.GetAsync(app.Address, "/health", host, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");
            await RawHttp.SendAsync(app.Address, "GET /health HTTP/1.0\r\n\r\n");
        }

        probers.RecordObservableInstruments();
        intervals.RecordObservableInstruments();
        statuses.RecordObservableInstruments();

        Assert.Equal(2, probers.LastMeasurement!.Value);
        var alb = Assert.Single(statuses.GetMeasurementSnapshot(), m => (string?)m.Tags["user_agent.original"] == "ELB-HealthChecker/2.0");
        Assert.Equal(200, alb.Value);
        Assert.Equal("AWS load balancer", alb.Tags["healthkit.prober"]);
        Assert.Equal("/health", alb.Tags["url.path"]);
        Assert.Contains(intervals.GetMeasurementSnapshot(), m => (string?)m.Tags["healthkit.prober"] == "HAProxy" && m.Value > 0);
    }
}

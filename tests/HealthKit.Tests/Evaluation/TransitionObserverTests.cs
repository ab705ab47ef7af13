// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Diagnostics;
using HealthKit.Evaluation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;

namespace HealthKit.Tests.Evaluation;

[Trait("Tier", "Fast")]
public sealed class TransitionObserverTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 1, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeLogger _logger = new();

    [Fact]
    public void Observe_Readiness_LogsEachChangeOnce_100And101_AndCountsInTheMetrics()
    {
        var metrics = ActivatorUtilities.CreateInstance<HealthKitMetrics>(_services);
        using var evaluations = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), HealthKitMetrics.MeterName, "healthkit.evaluations");
        var observer = new TransitionObserver(CheckSet.Readiness, _logger, metrics);
        var state = new CheckState();

        foreach (var status in new[] { HealthStatus.Healthy, HealthStatus.Unhealthy, HealthStatus.Unhealthy, HealthStatus.Healthy })
        {
            observer.Observe(state, "db", Entry(status), Now);
            observer.EvaluationFinished();
        }

        Assert.Equal([100, 101, 100], _logger.Collector.GetSnapshot().Select(r => r.Id.Id));
        Assert.Contains("refused", _logger.Collector.GetSnapshot()[1].Message, StringComparison.Ordinal);
        Assert.Equal(Now, state.LastTransition);
        Assert.Equal(4, evaluations.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public void Observe_Liveness_LogsEvents110And111_CountsNothing()
    {
        var metrics = ActivatorUtilities.CreateInstance<HealthKitMetrics>(_services);
        using var evaluations = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), HealthKitMetrics.MeterName, "healthkit.evaluations");
        var observer = new TransitionObserver(CheckSet.Liveness, _logger, metrics);
        var state = new CheckState();

        observer.Observe(state, "heartbeat", Entry(HealthStatus.Unhealthy), Now);
        observer.Observe(state, "heartbeat", Entry(HealthStatus.Healthy), Now);
        observer.EvaluationFinished();
        observer.CacheHit();

        Assert.Equal([111, 110], _logger.Collector.GetSnapshot().Select(r => r.Id.Id));
        Assert.Empty(evaluations.GetMeasurementSnapshot());
    }

    public void Dispose() => _services.Dispose();

    private static HealthReportEntry Entry(HealthStatus status) =>
        new(status, status == HealthStatus.Healthy ? null : "refused", TimeSpan.Zero, null, null);
}

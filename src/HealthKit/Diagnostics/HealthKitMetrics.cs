// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Diagnostics;

/// <summary>
/// The <c>HealthKit</c> meter: what OpenTelemetry's <c>AddMeter("HealthKit")</c> collects. Created through
/// <see cref="IMeterFactory"/> so each host (and each test host) has its own instruments.
/// </summary>
internal sealed class HealthKitMetrics
{
    public const string MeterName = "HealthKit";

    // Boxed once: a probe's counter update must not allocate a boxed status code per request.
    private static readonly object Status200 = 200;
    private static readonly object Status503 = 503;
    private static readonly object Status405 = 405;

    private readonly ConcurrentDictionary<string, double> _status = new(StringComparer.OrdinalIgnoreCase);
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _probes;
    private readonly Counter<long> _evaluations;
    private readonly Counter<long> _cacheHits;
    private double _queueWait;
    private int _overloaded;

    public HealthKitMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Meter = meter;
        meter.CreateObservableGauge("healthkit.check.status", ObserveStatus, unit: "{status}",
            description: "Status of each health check at its last evaluation: 1 Healthy, 0.5 Degraded, 0 Unhealthy.");
        _duration = meter.CreateHistogram<double>("healthkit.check.duration", unit: "s",
            description: "Duration of each health check run, including runs cut off at their deadline.");
        _probes = meter.CreateCounter<long>("healthkit.probes", unit: "{probe}",
            description: "Probes answered, by endpoint and status code.");
        _evaluations = meter.CreateCounter<long>("healthkit.evaluations", unit: "{evaluation}",
            description: "Readiness evaluations run (each runs every check once).");
        _cacheHits = meter.CreateCounter<long>("healthkit.cache.hits", unit: "{probe}",
            description: "Readiness probes answered from the cached result without an evaluation.");

        // Observable: the canary only stores two numbers; nothing is computed unless a listener collects.
        meter.CreateObservableGauge("healthkit.threadpool.queue_wait", () => Volatile.Read(ref _queueWait), unit: "s",
            description: "How long the last work item queued to the thread pool by HealthKit's canary waited to run (or has waited so far).");
        meter.CreateObservableGauge("healthkit.overloaded", () => Volatile.Read(ref _overloaded), unit: "{state}",
            description: "1 while readiness answers 503 because the thread pool is starved, else 0.");
    }

    /// <summary>Gets the meter, for instruments that live with the capability they observe (the balancer ledger's).</summary>
    public Meter Meter { get; }

    public void RecordCheck(string name, HealthReportEntry entry)
    {
        _status[name] = entry.Status switch
        {
            HealthStatus.Healthy => 1,
            HealthStatus.Degraded => 0.5,
            _ => 0,
        };
        _duration.Record(entry.Duration.TotalSeconds, new KeyValuePair<string, object?>("healthkit.check", name));
    }

    public void RecordQueueWait(double seconds) => Volatile.Write(ref _queueWait, seconds);

    public void RecordOverloaded(bool overloaded) => Volatile.Write(ref _overloaded, overloaded ? 1 : 0);

    public void RecordEvaluation() => _evaluations.Add(1);

    public void RecordCacheHit() => _cacheHits.Add(1);

    public void RecordProbe(string endpoint, int statusCode)
    {
        if (!_probes.Enabled)
        {
            return;
        }

        var boxed = statusCode switch
        {
            200 => Status200,
            503 => Status503,
            405 => Status405,
            _ => statusCode,
        };
        _probes.Add(1, new KeyValuePair<string, object?>("healthkit.endpoint", endpoint), new KeyValuePair<string, object?>("http.response.status_code", boxed));
    }

    private IEnumerable<Measurement<double>> ObserveStatus()
    {
        foreach (var (name, value) in _status)
        {
            yield return new Measurement<double>(value, new KeyValuePair<string, object?>("healthkit.check", name));
        }
    }
}

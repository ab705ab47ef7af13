// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using HealthKit.Diagnostics;

namespace HealthKit.Fleet;

/// <summary>
/// The fleet's instruments, on the same <c>HealthKit</c> meter as <see cref="HealthKitMetrics"/> (the meter factory
/// hands out one meter per name): board exchanges, their cost, the live fleet's size and the shared outages this
/// instance rides out.
/// </summary>
internal sealed class FleetMetrics
{
    private static readonly KeyValuePair<string, object?> Ok = new("healthkit.fleet.result", "ok");
    private static readonly KeyValuePair<string, object?> Error = new("healthkit.fleet.result", "error");

    private readonly ConcurrentDictionary<string, byte> _outages = new(StringComparer.OrdinalIgnoreCase);
    private readonly Counter<long>? _exchanges;
    private readonly Histogram<double>? _duration;
    private readonly Histogram<long>? _bytes;

    public FleetMetrics(IMeterFactory meterFactory, FleetView view)
    {
        // With the fleet view off there is nothing to measure: no instruments, rather than gauges that always read 0.
        if (!view.Enabled)
        {
            return;
        }

        var meter = meterFactory.Create(HealthKitMetrics.MeterName);
        _exchanges = meter.CreateCounter<long>("healthkit.fleet.exchanges", unit: "{exchange}",
            description: "Exchanges with the fleet board (publish and read in one round trip), by result.");
        _duration = meter.CreateHistogram<double>("healthkit.fleet.exchange.duration", unit: "s",
            description: "Duration of each successful exchange with the fleet board.");
        _bytes = meter.CreateHistogram<long>("healthkit.fleet.exchange.size", unit: "By",
            description: "Bytes of entries written and read by each successful exchange with the fleet board.");
        meter.CreateObservableGauge("healthkit.fleet.instances", () => view.Last?.Live ?? 0, unit: "{instance}",
            description: "Live instances on the fleet board at the last exchange, this one included.");
        meter.CreateObservableGauge("healthkit.fleet.outage", ObserveOutages, unit: "{outage}",
            description: "1 for each Shared check that fails on more of the fleet than DeployHealth:Fleet:MaxEjectedPercent allows, so this instance stays in rotation.");
    }

    public void RecordExchange(TimeSpan duration, long bytes)
    {
        _exchanges?.Add(1, Ok);
        _duration?.Record(duration.TotalSeconds);
        _bytes?.Record(bytes);
    }

    public void RecordExchangeFailure() => _exchanges?.Add(1, Error);

    public void SetOutage(string check, bool outage)
    {
        if (outage)
        {
            _outages[check] = 1;
        }
        else
        {
            _outages.TryRemove(check, out _);
        }
    }

    private IEnumerable<Measurement<int>> ObserveOutages()
    {
        foreach (var (check, _) in _outages)
        {
            yield return new Measurement<int>(1, new KeyValuePair<string, object?>("healthkit.check", check));
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;

namespace HealthKit.Balancers;

/// <summary>
/// The ledger on the <c>HealthKit</c> meter: how many probers are seen, and per prober its interval and last answer.
/// Observable, so nothing is computed unless a listener collects; the attributes are bounded by the ledger's capacity.
/// </summary>
internal static class BalancerMetrics
{
    public static void Register(Meter meter, ProberLedger ledger)
    {
        meter.CreateObservableGauge("healthkit.balancer.probers", () => ledger.Snapshot().Length, unit: "{prober}",
            description: "Probers in the ledger (distinct peer, User-Agent, door and path).");
        meter.CreateObservableGauge("healthkit.balancer.interval", () => Observe(ledger, static p => p.Interval.TotalSeconds), unit: "s",
            description: "Each prober's observed interval between probes.");
        meter.CreateObservableGauge("healthkit.balancer.last_status", () => Observe(ledger, static p => p.LastStatus), unit: "{status}",
            description: "The HTTP status code of each prober's last answer (gRPC and the agent: 200 serving, 503 not).");
    }

    private static IEnumerable<Measurement<double>> Observe(ProberLedger ledger, Func<ProberView, double> value)
    {
        foreach (var prober in ledger.Snapshot())
        {
            yield return new Measurement<double>(
                value(prober),
                new KeyValuePair<string, object?>("healthkit.prober", ProberKinds.Name(prober.Kind)),
                new KeyValuePair<string, object?>("healthkit.door", prober.Door.ToString()),
                new KeyValuePair<string, object?>("url.path", prober.Path),
                new KeyValuePair<string, object?>("client.address", prober.Peer?.ToString()),
                new KeyValuePair<string, object?>("user_agent.original", prober.UserAgent));
        }
    }
}

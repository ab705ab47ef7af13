// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Probing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Balancers;

/// <summary>
/// Looks at the ledger every <see cref="Period"/> for what only time shows: no prober while the app serves traffic,
/// a prober that stopped probing, and a prober too slow to take the instance out within the drain.
/// </summary>
internal sealed class BalancerWatch(
    ProberLedger ledger,
    ProberWarnings warnings,
    ProbeRoute paths,
    IOptions<DeployHealthOptions> options,
    TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    private long _requestsAtLastLook;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Evaluate();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One look: raises what the ledger shows now (each warning once).</summary>
    public void Evaluate()
    {
        var probers = ledger.Snapshot();
        var requests = ledger.Requests;
        var serving = requests != _requestsAtLastLook;
        _requestsAtLastLook = requests;
        if (ProberWarnings.NoProberSeen(probers, ledger.Uptime, requests))
        {
            warnings.NoProber(ledger.Uptime, requests, paths.Readiness);
        }

        var settings = options.Value;
        var limit = settings.Drain.DelayIsSet ? settings.Drain.Delay : settings.Drain.Maximum;
        var limitName = settings.Drain.DelayIsSet ? "DeployHealth:Drain:Delay" : "DeployHealth:Drain:Maximum";
        foreach (var prober in probers)
        {
            if (serving && ProberWarnings.WentSilent(prober))
            {
                warnings.Silent(prober);
            }

            // A stream's prober is told at once, so it is never too slow.
            if (prober.Role != ProberRole.Readiness || prober.Count < ProberLedger.Established || prober.Kind == ProberKind.Kubernetes || prober.Streamed || limit <= TimeSpan.Zero)
            {
                continue;
            }

            var threshold = DrainRule.Threshold(prober.Kind, settings.Drain.FailureThreshold);
            var needed = DrainRule.TimeToTakeOut(prober, threshold);
            if (needed > limit)
            {
                warnings.TooSlow(prober, threshold, needed, limit, limitName);
            }
        }
    }
}

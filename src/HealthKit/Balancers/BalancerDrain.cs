// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Balancers;

/// <summary>
/// The drain that ends when the balancers have let go (<see cref="DrainRule"/>), used when <c>DeployHealth:Drain:Delay</c>
/// is not set. Readiness already answers 503 on every door; this holds the server while it does, looking at the
/// ledger every <see cref="Tick"/>, and returns when the rule says the instance is out, or at <c>DeployHealth:Drain:Maximum</c>.
/// </summary>
internal sealed partial class BalancerDrain(
    ProberLedger ledger,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    ILogger<BalancerDrain> logger)
{
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    /// <summary>The rule in force, in one sentence, for the start-up report and the docs.</summary>
    public static string Describe(DeployHealthOptions settings)
    {
        if (settings.Drain.DelayIsSet)
        {
            return settings.Drain.Delay > TimeSpan.Zero
                ? string.Create(CultureInfo.InvariantCulture, $"fixed, {settings.Drain.Delay.TotalMilliseconds:0} ms (DeployHealth:Drain:Delay is set)")
                : "none (DeployHealth:Drain:Delay is 0)";
        }

        return string.Create(CultureInfo.InvariantCulture, $"until the balancers let go: each prober's failing answers reach its threshold ({(settings.Drain.FailureThreshold is { } t ? t.ToString(CultureInfo.InvariantCulture) : "its kind's default")}) and no request for {DrainRule.QuietPeriod.TotalMilliseconds:0} ms, at least {DrainRule.BlindAllowance.TotalMilliseconds:0} ms when a kubelet probes, at most {settings.Drain.Maximum.TotalMilliseconds:0} ms (DeployHealth:Drain:Maximum)");
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var started = time.GetTimestamp();
        var watchedIds = new HashSet<long>();
        var watched = new List<ProberView>();
        foreach (var prober in ledger.Snapshot())
        {
            if (DrainRule.IsWatched(prober))
            {
                watchedIds.Add(prober.Id);
                watched.Add(prober);
            }
        }

        Log.DrainBegan(logger, watched.Count, settings.Drain.Maximum.TotalMilliseconds, Names(watched));

        // Counted from the drain's start: what came just before is not known, so the quiet period is waited in full.
        var requests = ledger.Requests;
        var lastTraffic = started;
        try
        {
            while (true)
            {
                var seen = ledger.Requests;
                if (seen != requests)
                {
                    requests = seen;
                    lastTraffic = time.GetTimestamp();
                }

                watched.Clear();
                foreach (var prober in ledger.Snapshot())
                {
                    if (watchedIds.Contains(prober.Id))
                    {
                        watched.Add(prober);
                    }
                }

                var decision = DrainRule.Decide(watched, time.GetElapsedTime(started), time.GetElapsedTime(lastTraffic), settings.Drain.Maximum, settings.Drain.FailureThreshold);
                if (decision.Ends)
                {
                    Log.DrainEnded(logger, time.GetElapsedTime(started).TotalMilliseconds, decision.Why);
                    return;
                }

                await Task.Delay(Tick, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first: stop now rather than be killed mid-request.
            Log.DrainEnded(logger, time.GetElapsedTime(started).TotalMilliseconds, "the host's shutdown timeout ran out");
        }
    }

    private static string Names(List<ProberView> probers)
    {
        if (probers.Count == 0)
        {
            return "none";
        }

        var names = new string[probers.Count];
        for (var i = 0; i < probers.Count; i++)
        {
            names[i] = $"{probers[i].DisplayName} at {probers[i].Path}";
        }

        return string.Join(", ", names);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 465, EventName = "DrainingUntilBalancersLetGo", Level = LogLevel.Information,
            Message = "Shutting down: readiness answers 503 (draining) and requests are still served until the {Count} balancer probers seen let go and requests stop, for at most {MaximumMs} ms. Probers: {Probers}.")]
        public static partial void DrainBegan(ILogger logger, int count, double maximumMs, string probers);

        [LoggerMessage(EventId = 466, EventName = "DrainEnded", Level = LogLevel.Information,
            Message = "Drain ended after {ElapsedMs:0} ms: {Why}.")]
        public static partial void DrainEnded(ILogger logger, double elapsedMs, string why);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Evaluation;

/// <summary>
/// With <see cref="DeployHealthOptions.BackgroundEvaluation"/>, re-evaluates every cache period so probes only read
/// the last result: no probe ever waits for a dependency, whatever the probe rate.
/// </summary>
internal sealed class BackgroundEvaluation(HealthEvaluator evaluator, IOptions<DeployHealthOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.BackgroundEvaluation)
        {
            return;
        }

        // A zero cache period would spin; one evaluation per second is the floor in background mode.
        var period = settings.CacheDuration > TimeSpan.FromSeconds(1) ? settings.CacheDuration : TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            await evaluator.EvaluateNowAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            await Task.Delay(period, time, stoppingToken).ConfigureAwait(false);
        }
    }
}

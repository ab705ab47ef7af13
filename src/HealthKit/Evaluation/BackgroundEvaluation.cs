// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Evaluation;

/// <summary>
/// With <see cref="DeployHealthOptions.BackgroundEvaluation"/>, or with the probe listener (which never waits for an
/// evaluation), re-evaluates every cache period so probes only read the last result: no probe ever waits for a
/// dependency, whatever the probe rate. The loop runs on a thread of its own and waits with blocking waits, so it
/// keeps starting evaluations while the thread pool is starved; the checks themselves still need the pool, and while
/// it is starved the overload gate, not a stale result, is what readiness reports. The app's <c>live</c>-tagged checks
/// are refreshed on the same beat: in background mode their evaluator, like readiness', serves its last result
/// however old, so only this loop keeps liveness current.
/// </summary>
internal sealed class BackgroundEvaluation(
    HealthEvaluator evaluator,
    [FromKeyedServices(HealthEvaluator.LivenessKey)] HealthEvaluator liveness,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly DedicatedLoop _loop = new("HealthKit background evaluation", TimeSpan.FromSeconds(5));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EvaluatesInBackground)
        {
            _loop.Start(Run);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _loop.Stop();
        return Task.CompletedTask;
    }

    public void Dispose() => _loop.Dispose();

    private void Run(CancellationToken stopping)
    {
        try
        {
            Loop(stopping);
        }
        catch (ObjectDisposedException)
        {
            // Stopped and disposed while between two waits: nothing is left to evaluate for.
        }
    }

    private void Loop(CancellationToken stopping)
    {
        // A zero cache period would spin; one evaluation per second is the floor in background mode.
        var settings = options.Value;
        var period = settings.CacheDuration > TimeSpan.FromSeconds(1) ? settings.CacheDuration : TimeSpan.FromSeconds(1);

        // Hosted services start before the server builds the app's pipeline: an evaluation now would find smoke pages
        // unrenderable and, in background mode, serve that failure until the next period.
        if (WaitHandle.WaitAny([lifetime.ApplicationStarted.WaitHandle, stopping.WaitHandle]) != 0)
        {
            return;
        }

        using var tick = new AutoResetEvent(false);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Both evaluations run at once; each is single flight, so a slow one is joined, not stacked.
                var readiness = evaluator.EvaluateNowAsync();
                if (liveness.HasChecks)
                {
                    liveness.EvaluateNowAsync().Wait(stopping);
                }

                readiness.Wait(stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (AggregateException)
            {
                // The evaluator turns every check failure into a result; anything else is retried next period.
            }

            if (!WaitPeriod(tick, period, stopping))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Waits one period, or returns <see langword="false"/> on stop. With the system clock, a plain timed wait: a
    /// timer callback would need the pool. A test's TimeProvider decides by its own timer when the period is over.
    /// </summary>
    private bool WaitPeriod(AutoResetEvent tick, TimeSpan period, CancellationToken stopping)
    {
        if (ReferenceEquals(time, TimeProvider.System))
        {
            return !stopping.WaitHandle.WaitOne(period);
        }

        using var timer = time.CreateTimer(static state => ((AutoResetEvent)state!).Set(), tick, period, Timeout.InfiniteTimeSpan);
        return WaitHandle.WaitAny([tick, stopping.WaitHandle]) == 0;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Diagnostics;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Overload;

/// <summary>
/// Readiness answers 503 "overloaded: thread pool starved for N ms" while work queued to the thread pool waits
/// longer than <see cref="DeployHealthOptions.OverloadThreshold"/>, so the balancer sends less until the pool catches
/// up; liveness is never affected (the process is alive and recovers by itself). A canary on a thread of its own, as
/// Azure WebJobs' thread-pool starvation throttle does: every half second it queues one work item and measures how
/// long it waits to run, counting a still-waiting item's age as it grows, so a pool that never runs it is noticed
/// too. Hysteresis: overloaded once a wait reaches the threshold; back only after three samples in a row under half
/// of it, so a pool hovering around the threshold does not flap. Idle cost: two work items and two wake-ups a second.
/// </summary>
internal sealed partial class ThreadPoolStarvationGate : IReadinessGate, IHostedService, IDisposable
{
    /// <summary>How often the canary samples the pool.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>Samples in a row under half the threshold before readiness comes back.</summary>
    internal const int CalmSamples = 3;

    private readonly TimeSpan _threshold;
    private readonly TimeProvider _time;
    private readonly VerdictSignal _signal;
    private readonly HealthKitMetrics _metrics;
    private readonly ILogger<ThreadPoolStarvationGate> _logger;
    private readonly ManualResetEventSlim _ran = new(false);
    private readonly DedicatedLoop _loop = new("HealthKit thread-pool canary", Interval * 2);
    private volatile string? _reason;
    private int _calm;
    private long _startedAt;

    public ThreadPoolStarvationGate(
        IOptions<DeployHealthOptions> options,
        TimeProvider time,
        VerdictSignal signal,
        HealthKitMetrics metrics,
        ILogger<ThreadPoolStarvationGate> logger)
    {
        _threshold = options.Value.EffectiveOverloadThreshold;
        _time = time;
        _signal = signal;
        _metrics = metrics;
        _logger = logger;
    }

    public string? NotReadyReason => _reason;

    /// <inheritdoc/>
    public VerdictReason NotReady(out string? detail)
    {
        detail = _reason;
        return detail is null ? VerdictReason.None : VerdictReason.Overloaded;
    }

    /// <summary>Gets whether the detector runs (a threshold is in effect).</summary>
    public bool Enabled => _threshold > TimeSpan.Zero;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            // Its own thread: a timer or a task would need the very pool whose starvation it measures.
            _loop.Start(Run);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _loop.Stop();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        // Its token source stays undisposed if the thread outlives the bound: disposing it under the waiting
        // thread would crash the process, as it once did for the background evaluation.
        _loop.Dispose();

        // _ran is not disposed: a canary still queued to a starved pool may set it after the host is gone. It never
        // allocates a kernel handle (no one asks for its WaitHandle), so there is nothing to release.
    }

    /// <summary>
    /// Judges one measured wait of a queued work item; returns whether the state changed. Called by the canary's
    /// thread only (and by tests, which feed it waits directly).
    /// </summary>
    internal bool Observe(TimeSpan wait)
    {
        _metrics.RecordQueueWait(wait.TotalSeconds);
        if (_reason is null)
        {
            if (wait < _threshold)
            {
                return false;
            }

            _calm = 0;
            _reason = Describe(wait);
            _metrics.RecordOverloaded(true);
            Log.Overloaded(_logger, wait.TotalMilliseconds, _threshold.TotalMilliseconds);
            _signal.Notify();
            return true;
        }

        if (wait * 2 >= _threshold)
        {
            _calm = 0;
            if (wait >= _threshold)
            {
                // Still starved: the reason says by how much now (one string per sample, only while overloaded).
                _reason = Describe(wait);
            }

            return false;
        }

        if (++_calm < CalmSamples)
        {
            return false;
        }

        _reason = null;
        _metrics.RecordOverloaded(false);
        Log.Recovered(_logger, wait.TotalMilliseconds);
        _signal.Notify();
        return true;
    }

    private static string Describe(TimeSpan wait) =>
        string.Format(CultureInfo.InvariantCulture, "overloaded: thread pool starved for {0:0} ms", wait.TotalMilliseconds);

    private void Run(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            _ran.Reset();
            _startedAt = _time.GetTimestamp();
            ThreadPool.UnsafeQueueUserWorkItem(static gate => gate._ran.Set(), this, preferLocal: false);

            // While the item waits, its age is the wait so far: a pool that never runs it is overloaded after the
            // threshold, not after the item finally runs.
            while (!_ran.Wait(Interval, CancellationToken.None))
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                Observe(_time.GetElapsedTime(_startedAt));
            }

            Observe(_time.GetElapsedTime(_startedAt));
            if (stopping.WaitHandle.WaitOne(Interval))
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 240, EventName = "Overloaded", Level = LogLevel.Warning,
            Message = "Readiness answers 503 (overloaded): work queued to the thread pool waited {WaitMs} ms, over DeployHealth:OverloadThreshold ({ThresholdMs} ms). Liveness still answers. Requests that block threads (.Result, .Wait(), Thread.Sleep) are the usual cause.")]
        public static partial void Overloaded(ILogger logger, double waitMs, double thresholdMs);

        [LoggerMessage(EventId = 241, EventName = "OverloadEnded", Level = LogLevel.Information,
            Message = "The thread pool keeps up again (queued work waited {WaitMs} ms); readiness follows the checks again.")]
        public static partial void Recovered(ILogger logger, double waitMs);
    }
}

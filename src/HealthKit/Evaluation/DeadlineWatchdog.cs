// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Evaluation;

/// <summary>
/// One timer per evaluator, re-armed per evaluation, that enforces the deadlines whatever a check does. At a deadline
/// it reports the checks still pending as timed out (saying when an earlier run of one is still going) and cancels
/// their token. When a check holds the evaluation's thread for longer than <see cref="CheckRunner.StallThreshold"/>
/// before returning its task (a synchronous connect, a blocking wait), it has the remaining checks started on another
/// thread and remembers that check, which from then on is started on a thread of its own.
/// </summary>
internal sealed partial class DeadlineWatchdog(CheckRunner runner, TimeProvider time, ILogger logger) : IDisposable
{
    private static readonly IReadOnlyDictionary<string, object> NoData = new Dictionary<string, object>();

    private readonly Lock _gate = new();
    private RunningEvaluation? _current;
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>Watches <paramref name="evaluation"/> from now on, in place of the one before.</summary>
    public void Watch(RunningEvaluation evaluation)
    {
        lock (_gate)
        {
            Volatile.Write(ref _current, evaluation);
            if (evaluation.Plan.Checks.Length == 0 || _disposed)
            {
                return;
            }

            // The evaluation outlives the probe that started it and serves others: the timer may not carry that
            // request's ExecutionContext (its IHttpContextAccessor value, its Activity).
            using (ExecutionContext.SuppressFlow())
            {
                _timer ??= time.CreateTimer(static s => ((DeadlineWatchdog)s!).OnTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            _timer.Change(evaluation.Plan.FirstWatch, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }

    /// <summary>Remembers that <paramref name="check"/> holds its caller's thread: it is started on a thread of its own from now on.</summary>
    public void Learn(PlannedCheck check, TimeSpan held)
    {
        lock (check.State)
        {
            if (check.State.Blocks)
            {
                return;
            }

            check.State.Blocks = true;
        }

        Log.CheckBlocksCaller(logger, check.Registration.Name, held.TotalMilliseconds);
    }

    private void OnTick()
    {
        var evaluation = Volatile.Read(ref _current);
        if (evaluation is null || Volatile.Read(ref evaluation.Finished) != 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(evaluation.Started, now);
        var next = TimeSpan.MaxValue;
        var checks = evaluation.Plan.Checks;
        var slots = evaluation.Slots;
        for (var i = 0; i < slots.Length; i++)
        {
            ref var slot = ref slots[i];
            if (Volatile.Read(ref slot.InCall) == 1 && slot.Rescued == 0)
            {
                var held = time.GetElapsedTime(slot.Started, now);
                if (held >= CheckRunner.StallThreshold)
                {
                    Rescue(evaluation, i, held);
                }
                else
                {
                    next = Min(next, CheckRunner.StallThreshold - held);
                }
            }

            if (Volatile.Read(ref slot.Phase) != RunningEvaluation.Slot.Done)
            {
                if (elapsed >= checks[i].Deadline)
                {
                    TimeOut(evaluation, i, elapsed, now);
                }
                else
                {
                    next = Min(next, checks[i].Deadline - elapsed);
                }
            }
        }

        // Checks not started yet (the work item waits for a thread, or a check before them holds it): look again
        // within the stall threshold, or a check that blocks once started would go unnoticed until the deadline.
        if (Volatile.Read(ref evaluation.Next) < slots.Length)
        {
            next = Min(next, CheckRunner.StallThreshold);
        }

        // Only once every due check has its entry: a check that answers its token at once would otherwise report
        // "Cancelled" instead of "Timed out", depending on the order of the slots.
        var deadlines = evaluation.Plan.Deadlines;
        for (var group = 0; group < deadlines.Length; group++)
        {
            if (elapsed >= deadlines[group])
            {
                CancelQuietly(evaluation.Cancellations[group]);
            }
        }

        if (next != TimeSpan.MaxValue && Volatile.Read(ref evaluation.Finished) == 0)
        {
            lock (_gate)
            {
                if (!_disposed && ReferenceEquals(_current, evaluation))
                {
                    _timer?.Change(next, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static void CancelQuietly(CancellationTokenSource cancellation)
    {
        try
        {
            cancellation.Cancel();
        }
        catch (AggregateException)
        {
            // A check's own cancellation callback threw; the check is already reported as timed out.
        }
    }

    /// <summary>A check holds the evaluation's thread: start the others elsewhere, and this one on its own from now on.</summary>
    private void Rescue(RunningEvaluation evaluation, int index, TimeSpan held)
    {
        if (Interlocked.Exchange(ref evaluation.Slots[index].Rescued, 1) != 0)
        {
            return;
        }

        Learn(evaluation.Plan.Checks[index], held);
        if (Volatile.Read(ref evaluation.Next) < evaluation.Slots.Length)
        {
            ThreadPool.UnsafeQueueUserWorkItem(evaluation, preferLocal: false);
        }
    }

    private void TimeOut(RunningEvaluation evaluation, int index, TimeSpan elapsed, long now)
    {
        var check = evaluation.Plan.Checks[index];
        ref var slot = ref evaluation.Slots[index];
        bool stillRunning;
        if (slot.Joined)
        {
            stillRunning = true;
        }
        else
        {
            lock (check.State)
            {
                // Not started yet (every thread was busy) while an earlier run still goes on: the same situation.
                stillRunning = Volatile.Read(ref slot.Phase) == RunningEvaluation.Slot.Waiting && check.State.Busy;
            }
        }

        var duration = Volatile.Read(ref slot.Phase) == RunningEvaluation.Slot.Waiting ? elapsed : time.GetElapsedTime(slot.Started, now);
        var entry = new HealthReportEntry(HealthStatus.Unhealthy, FailureDescription.TimedOut(check.Deadline, stillRunning), duration, null, NoData, check.Registration.Tags);
        if (runner.TryComplete(evaluation, index, entry, now))
        {
            Log.CheckTimedOut(logger, check.Registration.Name, check.Deadline.TotalMilliseconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 102, EventName = "CheckTimedOut", Level = LogLevel.Debug,
            Message = "Health check '{CheckName}' did not finish within its {DeadlineMs} ms deadline.")]
        public static partial void CheckTimedOut(ILogger logger, string checkName, double deadlineMs);

        [LoggerMessage(EventId = 70, EventName = "CheckBlocksCaller", Level = LogLevel.Debug,
            Message = "Health check '{CheckName}' held its caller's thread for {HeldMs} ms before returning its task; it now starts on a thread of its own.")]
        public static partial void CheckBlocksCaller(ILogger logger, string checkName, double heldMs);
    }
}

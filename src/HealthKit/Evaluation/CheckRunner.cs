// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Evaluation;

/// <summary>
/// Runs the checks of one evaluation and hands back one entry per check by its deadline, whatever a check does.
/// </summary>
/// <remarks>
/// One evaluation is one work item on the thread pool, which starts the checks one after another on its own thread (a
/// check that completes synchronously, as most in-process checks do, costs no thread hop and no task of HealthKit's),
/// with one cancellation source per distinct deadline and a DI scope per check, as the framework does. A check whose
/// result is still within its interval is not run: its last result is reused. The <see cref="DeadlineWatchdog"/>
/// enforces the deadlines, rescues the evaluation's thread from a check that holds it, and reports what still runs
/// after its deadline. A run that outlives its deadline is never started again on top of itself: later evaluations
/// wait for it, within their own deadline.
/// </remarks>
internal sealed class CheckRunner : IDisposable
{
    /// <summary>How long a check may hold the evaluation's thread before the other checks are started elsewhere.</summary>
    public static readonly TimeSpan StallThreshold = TimeSpan.FromMilliseconds(100);

    private static readonly IReadOnlyDictionary<string, object> NoData = new Dictionary<string, object>();

    private readonly IServiceScopeFactory _scopeFactory;
    private readonly TimeProvider _time;
    private readonly Action<RunningEvaluation> _finished;
    private readonly DeadlineWatchdog _watchdog;

    // finished: called once per evaluation, when every check has its entry; it completes the evaluation.
    public CheckRunner(IServiceScopeFactory scopeFactory, TimeProvider time, ILogger logger, Action<RunningEvaluation> finished)
    {
        _scopeFactory = scopeFactory;
        _time = time;
        _finished = finished;
        _watchdog = new DeadlineWatchdog(this, time, logger);
    }

    public TimeProvider Time => _time;

    /// <summary>Starts the checks of <paramref name="plan"/>; deadlines count from this call.</summary>
    public RunningEvaluation Start(EvaluationPlan plan)
    {
        var evaluation = new RunningEvaluation(this, plan, _time.GetTimestamp());

        // The watchdog is armed before any check starts: whatever a check does (or a busy thread pool does to the work
        // item), the evaluation ends at its deadlines, and a caller finds them set when this returns.
        _watchdog.Watch(evaluation);
        ThreadPool.UnsafeQueueUserWorkItem(evaluation, preferLocal: false);
        return evaluation;
    }

    public void Dispose() => _watchdog.Dispose();

    /// <summary>Starts the checks not yet claimed, one after another, on the calling thread.</summary>
    public void Drive(RunningEvaluation evaluation)
    {
        var slots = evaluation.Slots;
        if (slots.Length == 0)
        {
            Finish(evaluation);
            return;
        }

        int index;
        while ((index = Interlocked.Increment(ref evaluation.Next) - 1) < slots.Length)
        {
            StartCheck(evaluation, index);
        }
    }

    /// <summary>Sets a slot's entry unless it has one (its deadline passed first); the last one finishes the evaluation.</summary>
    public bool TryComplete(RunningEvaluation evaluation, int index, in HealthReportEntry entry, long recordedAt)
    {
        ref var slot = ref evaluation.Slots[index];
        var phase = Volatile.Read(ref slot.Phase);
        while (phase != RunningEvaluation.Slot.Done)
        {
            var seen = Interlocked.CompareExchange(ref slot.Phase, RunningEvaluation.Slot.Done, phase);
            if (seen == phase)
            {
                slot.Entry = entry;
                slot.RecordedAt = recordedAt;

                // A full fence: the thread that counts the last slot sees every entry written before.
                if (Interlocked.Decrement(ref evaluation.Remaining) == 0)
                {
                    Finish(evaluation);
                }

                return true;
            }

            phase = seen;
        }

        return false;
    }

    private void StartCheck(RunningEvaluation evaluation, int index)
    {
        ref var slot = ref evaluation.Slots[index];
        slot.Started = _time.GetTimestamp();
        if (Interlocked.CompareExchange(ref slot.Phase, RunningEvaluation.Slot.Running, RunningEvaluation.Slot.Waiting) != RunningEvaluation.Slot.Waiting)
        {
            // Its deadline passed before a thread was free to start it: it is reported as timed out already.
            return;
        }

        var check = evaluation.Plan.Checks[index];
        var state = check.State;
        Task<HealthReportEntry>? earlier = null;
        HealthReportEntry? reused = null;
        long recordedAt = 0;
        lock (state)
        {
            if (check.Interval is { } interval && state.LastResult is { } last && _time.GetElapsedTime(state.LastRecordedAt, slot.Started) < interval)
            {
                reused = last;
                recordedAt = state.LastRecordedAt;
            }
            else if (state.Busy)
            {
                slot.Joined = true;
                earlier = (state.Waiters ??= new TaskCompletionSource<HealthReportEntry>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            else
            {
                state.Busy = true;
                state.Owner = evaluation;
                state.OwnerIndex = index;
            }
        }

        if (reused is { } entry)
        {
            slot.Reused = true;
            TryComplete(evaluation, index, entry, recordedAt);
            return;
        }

        if (earlier is not null)
        {
            // Still running from an earlier evaluation: its result, if it comes within this deadline, is this one's.
            _ = earlier.ContinueWith(
                static (run, s) =>
                {
                    var (evaluation, index) = ((RunningEvaluation, int))s!;
                    evaluation.Runner.TryComplete(evaluation, index, run.Result, evaluation.Runner.Time.GetTimestamp());
                },
                (evaluation, index),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return;
        }

        var token = evaluation.Cancellations[check.Group].Token;
        if (state.Blocks)
        {
            _ = Task.Run(() => Invoke(evaluation, index, check, token, inline: false));
            return;
        }

        Invoke(evaluation, index, check, token, inline: true);
    }

    private void Invoke(RunningEvaluation evaluation, int index, PlannedCheck check, CancellationToken token, bool inline)
    {
        ref var slot = ref evaluation.Slots[index];
        AsyncServiceScope? scope = null;
        Task<HealthCheckResult> run;
        if (inline)
        {
            Volatile.Write(ref slot.InCall, 1);
        }

        try
        {
            scope = _scopeFactory.CreateAsyncScope();
            var healthCheck = check.Registration.Factory(scope.Value.ServiceProvider);
            run = healthCheck.CheckHealthAsync(new HealthCheckContext { Registration = check.Registration }, token);
        }
#pragma warning disable CA1031 // Any exception from a check is its result, never the probe's failure.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            run = Task.FromException<HealthCheckResult>(exception);
        }
        finally
        {
            if (inline)
            {
                Volatile.Write(ref slot.InCall, 0);
            }
        }

        if (run.IsCompleted)
        {
            Completed(evaluation, index, check, run, scope, token);
        }
        else
        {
            _ = AwaitCheckAsync(evaluation, index, check, run, scope, token);
        }
    }

    private async Task AwaitCheckAsync(
        RunningEvaluation evaluation, int index, PlannedCheck check, Task<HealthCheckResult> run, AsyncServiceScope? scope, CancellationToken token)
    {
        await ((Task)run).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Completed(evaluation, index, check, run, scope, token);
    }

    private void Completed(
        RunningEvaluation evaluation, int index, PlannedCheck check, Task<HealthCheckResult> run, AsyncServiceScope? scope, CancellationToken token)
    {
        var registration = check.Registration;
        var now = _time.GetTimestamp();
        var duration = _time.GetElapsedTime(evaluation.Slots[index].Started, now);
        HealthReportEntry entry;
        if (run.IsCompletedSuccessfully)
        {
            var result = run.Result;
            entry = new HealthReportEntry(result.Status, result.Description, duration, result.Exception, result.Data ?? NoData, registration.Tags);
        }
        else
        {
            var exception = run.Exception?.InnerException ?? run.Exception;
            entry = (exception is null or OperationCanceledException) && token.IsCancellationRequested
                ? new HealthReportEntry(HealthStatus.Unhealthy, FailureDescription.Cancelled, duration, null, NoData, registration.Tags)
                : new HealthReportEntry(registration.FailureStatus, FailureDescription.Describe(exception), duration, exception, NoData, registration.Tags);
        }

        ScopeDisposal.DisposeQuietly(scope);
        Report(check.State, entry, now);
    }

    /// <summary>The run of a check returned: it reports to the evaluation that started it and to any that waited.</summary>
    private static void Report(CheckState state, HealthReportEntry entry, long recordedAt)
    {
        RunningEvaluation? owner;
        int index;
        TaskCompletionSource<HealthReportEntry>? waiters;
        lock (state)
        {
            state.Busy = false;
            owner = state.Owner;
            index = state.OwnerIndex;
            waiters = state.Waiters;
            state.Owner = null;
            state.Waiters = null;
        }

        owner?.Runner.TryComplete(owner, index, entry, recordedAt);
        waiters?.TrySetResult(entry);
    }

    private void Finish(RunningEvaluation evaluation)
    {
        Volatile.Write(ref evaluation.Finished, 1);
        var slots = evaluation.Slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].InCall) == 1)
            {
                // Timed out while still inside its synchronous part (a deadline shorter than the stall threshold).
                _watchdog.Learn(evaluation.Plan.Checks[i], _time.GetElapsedTime(slots[i].Started));
            }
        }

        _finished(evaluation);
    }
}

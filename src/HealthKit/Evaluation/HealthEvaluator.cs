// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using HealthKit.Diagnostics;
using HealthKit.Registry;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Evaluation;

/// <summary>
/// Produces the readiness result: the cached one while it is fresh, otherwise one evaluation that every concurrent
/// probe joins (single flight). Checks run over <see cref="HealthKitRegistry"/> (the app's registrations and
/// HealthKit's own), but not through <see cref="HealthCheckService"/>: that service awaits a check that ignores its
/// token for as long as it hangs, and HealthKit must answer within the deadline whatever the check does.
/// A second instance, keyed <see cref="LivenessKey"/>, evaluates the app's <c>live</c>-tagged checks for liveness with
/// the same deadline, cache and single-flight rules and state of its own, so a liveness probe never waits for, or
/// restarts, readiness' evaluation.
/// </summary>
/// <remarks>
/// What a deadline costs is paid once per evaluation, not once per check: one evaluation is one work item on the
/// thread pool, which starts the checks one after another on its own thread (a check that completes synchronously,
/// as most in-process checks do, costs no thread hop and no task of HealthKit's), one cancellation source per
/// distinct deadline, and one timer, HealthKit's watchdog, re-armed per evaluation. Every deadline counts from the
/// start of the evaluation. The watchdog enforces them whatever a check does: at a deadline it reports the checks
/// still pending as timed out and cancels their token; when a check holds the evaluation's thread for longer than
/// <see cref="StallThreshold"/> before returning its task (a synchronous connect, a blocking wait), it starts the
/// remaining checks on another thread and remembers that check, which from then on is started on a thread of its
/// own. A run that outlives its deadline is never started again on top of itself: later evaluations wait for it,
/// within their own deadline.
/// </remarks>
internal sealed partial class HealthEvaluator : IDisposable
{
    /// <summary>How long a check may hold the evaluation's thread before the other checks are started elsewhere.</summary>
    internal static readonly TimeSpan StallThreshold = TimeSpan.FromMilliseconds(100);

    private static readonly IReadOnlyDictionary<string, object> NoData = new Dictionary<string, object>();

    /// <summary>How the description of a check cut off at its deadline begins.</summary>
    internal const string TimedOutPrefix = "Timed out after ";

    /// <summary>The service key of the liveness instance.</summary>
    public const string LivenessKey = "HealthKit.Liveness";

    private readonly IServiceScopeFactory _scopeFactory;
    private readonly HealthKitRegistry _registry;
    private readonly CheckSet _set;
    private readonly DeployHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<HealthEvaluator> _logger;
    private readonly HealthKitMetrics _metrics;
    private readonly VerdictSignal _signal;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CheckState> _states = new(StringComparer.OrdinalIgnoreCase);
    private HealthSnapshot? _last;
    private Task<HealthSnapshot>? _running;
    private Plan? _plan;
    private Evaluation? _current;
    private ITimer? _watchdog;
    private bool _disposed;

    public HealthEvaluator(
        IServiceScopeFactory scopeFactory,
        HealthKitRegistry registry,
        IOptions<DeployHealthOptions> options,
        TimeProvider time,
        ILogger<HealthEvaluator> logger,
        HealthKitMetrics metrics,
        VerdictSignal signal,
        CheckSet set)
    {
        _set = set;
        _metrics = metrics;
        _signal = signal;
        _scopeFactory = scopeFactory;
        _registry = registry;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Gets whether this instance has any check to evaluate (liveness has none unless the app tagged some <c>live</c>).</summary>
    public bool HasChecks => Registrations.Count > 0;

    private bool IsLiveness => _set == CheckSet.Liveness;

    private IReadOnlyList<HealthCheckRegistration> Registrations => IsLiveness ? _registry.Liveness : _registry.Readiness;

    /// <summary>Gets the last finished evaluation, or <see langword="null"/> before the first one.</summary>
    public HealthSnapshot? Last => Volatile.Read(ref _last);

    /// <summary>Returns the cached result while it is fresh, else joins or starts the one running evaluation.</summary>
    public ValueTask<HealthSnapshot> GetAsync()
    {
        var last = Volatile.Read(ref _last);
        if (CanServe(last))
        {
            if (!IsLiveness)
            {
                _metrics.RecordCacheHit();
            }

            return ValueTask.FromResult(last);
        }

        return new ValueTask<HealthSnapshot>(Join());
    }

    /// <summary>Runs an evaluation now (or joins the running one), ignoring the cache.</summary>
    public Task<HealthSnapshot> EvaluateNowAsync()
    {
        lock (_gate)
        {
            return _running is { IsCompleted: false } running ? running : Start();
        }
    }

    /// <summary>The deadline of one check: its HealthKit setting, else its registration's timeout, else the default.</summary>
    public static TimeSpan DeadlineOf(HealthCheckRegistration registration, DeployHealthOptions options)
    {
        if (options.GetCheck(registration.Name)?.Deadline is { } configured)
        {
            return configured;
        }

        return registration.Timeout > TimeSpan.Zero ? registration.Timeout : options.CheckDeadline;
    }

    /// <summary>The deadline of the check named <paramref name="name"/> in this set, or the default for a name it does not hold.</summary>
    public TimeSpan DeadlineOf(string name)
    {
        foreach (var registration in Registrations)
        {
            if (string.Equals(registration.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return DeadlineOf(registration, _options);
            }
        }

        return _options.CheckDeadline;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watchdog?.Dispose();
            _watchdog = null;
        }
    }

    /// <summary>A result may answer a probe while it is fresh; in background mode, the last one always does.</summary>
    private bool CanServe([NotNullWhen(true)] HealthSnapshot? snapshot) =>
        snapshot is not null && (_options.EvaluatesInBackground || _time.GetElapsedTime(snapshot.Timestamp) < _options.CacheDuration);

    private Task<HealthSnapshot> Join()
    {
        lock (_gate)
        {
            var last = _last;
            return CanServe(last) ? Task.FromResult(last) : EvaluateNowAsync();
        }
    }

    // Called under _gate.
    private Task<HealthSnapshot> Start()
    {
        var plan = GetPlan();
        var evaluation = new Evaluation(this, plan, _time.GetTimestamp());
        Volatile.Write(ref _current, evaluation);
        _running = evaluation.Completion.Task;

        // The watchdog is armed before any check starts, and deadlines count from here: whatever a check does (or a
        // busy thread pool does to the work item), the evaluation ends at the earliest deadline, and a caller of
        // EvaluateNowAsync finds the deadline already set when the call returns.
        if (plan.Checks.Length > 0 && !_disposed)
        {
            // The evaluation outlives the probe that started it and serves others: neither the timer nor the work
            // item may carry that request's ExecutionContext (its IHttpContextAccessor value, its Activity).
            using (ExecutionContext.SuppressFlow())
            {
                _watchdog ??= _time.CreateTimer(static s => ((HealthEvaluator)s!).OnWatchdog(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            _watchdog.Change(plan.FirstWatch, Timeout.InfiniteTimeSpan);
        }

        ThreadPool.UnsafeQueueUserWorkItem(evaluation, preferLocal: false);
        return _running;
    }

    /// <summary>What every evaluation needs about the registrations, worked out once (they are fixed once built).</summary>
    private Plan GetPlan()
    {
        var registrations = Registrations;
        var plan = _plan;
        if (plan is not null && ReferenceEquals(plan.Source, registrations) && plan.SourceCount == registrations.Count)
        {
            return plan;
        }

        var checks = new List<PlannedCheck>(registrations.Count);
        var deadlines = new List<TimeSpan>(1);
        foreach (var registration in registrations)
        {
            var options = _options.GetCheck(registration.Name);
            if (options is { Enabled: false })
            {
                continue;
            }

            var deadline = DeadlineOf(registration, _options);
            var group = deadlines.IndexOf(deadline);
            if (group < 0)
            {
                group = deadlines.Count;
                deadlines.Add(deadline);
            }

            checks.Add(new PlannedCheck(registration, GetState(registration.Name), options, deadline, group));
        }

        var first = StallThreshold;
        foreach (var deadline in deadlines)
        {
            first = deadline < first ? deadline : first;
        }

        return _plan = new Plan(registrations, registrations.Count, [.. checks], [.. deadlines], first);
    }

    private CheckState GetState(string name)
    {
        if (!_states.TryGetValue(name, out var state))
        {
            state = new CheckState();
            _states.Add(name, state);
        }

        return state;
    }

    /// <summary>Starts the checks not yet claimed, one after another, on the calling thread.</summary>
    private void Drive(Evaluation evaluation)
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

    private void StartCheck(Evaluation evaluation, int index)
    {
        ref var slot = ref evaluation.Slots[index];
        slot.Started = _time.GetTimestamp();
        if (Interlocked.CompareExchange(ref slot.Phase, Slot.Running, Slot.Waiting) != Slot.Waiting)
        {
            // Its deadline passed before a thread was free to start it: it is reported as timed out already.
            return;
        }

        var check = evaluation.Plan.Checks[index];
        var state = check.State;
        Task<HealthReportEntry>? earlier = null;
        lock (state)
        {
            if (state.Busy)
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

        if (earlier is not null)
        {
            // Still running from an earlier evaluation: never started again on top of itself; its result, if it comes
            // within this evaluation's deadline, is this evaluation's.
            _ = earlier.ContinueWith(
                static (run, s) =>
                {
                    var (evaluation, index) = ((Evaluation, int))s!;
                    evaluation.Owner.TryComplete(evaluation, index, run.Result);
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

    private void Invoke(Evaluation evaluation, int index, PlannedCheck check, CancellationToken token, bool inline)
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
        Evaluation evaluation, int index, PlannedCheck check, Task<HealthCheckResult> run, AsyncServiceScope? scope, CancellationToken token)
    {
        await ((Task)run).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Completed(evaluation, index, check, run, scope, token);
    }

    private void Completed(
        Evaluation evaluation, int index, PlannedCheck check, Task<HealthCheckResult> run, AsyncServiceScope? scope, CancellationToken token)
    {
        var registration = check.Registration;
        var duration = _time.GetElapsedTime(evaluation.Slots[index].Started);
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
                ? new HealthReportEntry(HealthStatus.Unhealthy, "Cancelled at its deadline.", duration, null, NoData, registration.Tags)
                : new HealthReportEntry(registration.FailureStatus, Describe(exception), duration, exception, NoData, registration.Tags);
        }

        DisposeQuietly(scope);
        Report(check.State, entry);
    }

    /// <summary>The run of a check returned: it reports to the evaluation that started it and to any that waited.</summary>
    private static void Report(CheckState state, HealthReportEntry entry)
    {
        Evaluation? owner;
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

        owner?.Owner.TryComplete(owner, index, entry);
        waiters?.TrySetResult(entry);
    }

    /// <summary>Sets a slot's entry unless it has one (its deadline passed first); the last one finishes the evaluation.</summary>
    private bool TryComplete(Evaluation evaluation, int index, in HealthReportEntry entry)
    {
        ref var slot = ref evaluation.Slots[index];
        var phase = Volatile.Read(ref slot.Phase);
        while (phase != Slot.Done)
        {
            var seen = Interlocked.CompareExchange(ref slot.Phase, Slot.Done, phase);
            if (seen == phase)
            {
                slot.Entry = entry;

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

    private void OnWatchdog()
    {
        var evaluation = Volatile.Read(ref _current);
        if (evaluation is null || Volatile.Read(ref evaluation.Finished) != 0)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(evaluation.Started, now);
        var next = TimeSpan.MaxValue;
        var checks = evaluation.Plan.Checks;
        var slots = evaluation.Slots;
        for (var i = 0; i < slots.Length; i++)
        {
            ref var slot = ref slots[i];
            if (Volatile.Read(ref slot.InCall) == 1 && slot.Rescued == 0)
            {
                var held = _time.GetElapsedTime(slot.Started, now);
                if (held >= StallThreshold)
                {
                    Rescue(evaluation, i, held);
                }
                else
                {
                    next = Min(next, StallThreshold - held);
                }
            }

            if (Volatile.Read(ref slot.Phase) != Slot.Done)
            {
                if (elapsed >= checks[i].Deadline)
                {
                    TimeOut(evaluation, i, elapsed);
                }
                else
                {
                    next = Min(next, checks[i].Deadline - elapsed);
                }
            }
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
                    _watchdog?.Change(next, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A check holds the evaluation's thread: start the others elsewhere, and this one on its own from now on.</summary>
    private void Rescue(Evaluation evaluation, int index, TimeSpan held)
    {
        if (Interlocked.Exchange(ref evaluation.Slots[index].Rescued, 1) != 0)
        {
            return;
        }

        var check = evaluation.Plan.Checks[index];
        Learn(check, held);
        if (Volatile.Read(ref evaluation.Next) < evaluation.Slots.Length)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static e => e.Owner.Drive(e), evaluation, preferLocal: false);
        }
    }

    private void Learn(PlannedCheck check, TimeSpan held)
    {
        lock (check.State)
        {
            if (check.State.Blocks)
            {
                return;
            }

            check.State.Blocks = true;
        }

        Log.CheckBlocksCaller(_logger, check.Registration.Name, held.TotalMilliseconds);
    }

    private void TimeOut(Evaluation evaluation, int index, TimeSpan elapsed)
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
                stillRunning = Volatile.Read(ref slot.Phase) == Slot.Waiting && check.State.Busy;
            }
        }

        var description = string.Format(
            CultureInfo.InvariantCulture,
            stillRunning ? TimedOutPrefix + "{0:0} ms; still running from an earlier evaluation." : TimedOutPrefix + "{0:0} ms.",
            check.Deadline.TotalMilliseconds);
        var duration = Volatile.Read(ref slot.Phase) == Slot.Waiting ? elapsed : _time.GetElapsedTime(slot.Started);
        var entry = new HealthReportEntry(HealthStatus.Unhealthy, description, duration, null, NoData, check.Registration.Tags);
        if (TryComplete(evaluation, index, entry))
        {
            Log.CheckTimedOut(_logger, check.Registration.Name, check.Deadline.TotalMilliseconds);
        }
    }

    private void Finish(Evaluation evaluation)
    {
        Volatile.Write(ref evaluation.Finished, 1);
        try
        {
            var now = _time.GetUtcNow();
            var checks = evaluation.Plan.Checks;
            var slots = evaluation.Slots;
            var entries = new Dictionary<string, HealthReportEntry>(checks.Length, StringComparer.OrdinalIgnoreCase);
            var transitions = new Dictionary<string, DateTimeOffset>(checks.Length, StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < checks.Length; i++)
            {
                var check = checks[i];
                var name = check.Registration.Name;
                if (Volatile.Read(ref slots[i].InCall) == 1)
                {
                    // Timed out while still inside its synchronous part (a deadline shorter than the stall threshold).
                    Learn(check, _time.GetElapsedTime(slots[i].Started));
                }

                var entry = FlapTolerance.Judge(check.State, slots[i].Entry, check.Options, _time);
                entries[name] = entry;
                NoteTransition(check.State, name, entry, now);
                transitions[name] = check.State.LastTransition;
                if (!IsLiveness)
                {
                    // Metrics count readiness' evaluations; a live check is in readiness too and is counted there once.
                    _metrics.RecordCheck(name, entry);
                }
            }

            if (!IsLiveness)
            {
                _metrics.RecordEvaluation();
            }

            var snapshot = new HealthSnapshot(new HealthReport(entries, _time.GetElapsedTime(evaluation.Started)), _time.GetTimestamp(), now, transitions);
            Volatile.Write(ref _last, snapshot);
            _signal.Notify();
            evaluation.Completion.TrySetResult(snapshot);
        }
#pragma warning disable CA1031 // The probes waiting for this evaluation must get an answer, never hang.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            evaluation.Completion.TrySetException(exception);
        }
    }

    /// <summary>
    /// The description of a failed check: the outermost message that says something (wrappers that only point at
    /// their inner exception, such as EF Core's retry strategy or a TargetInvocationException, are skipped), with the
    /// root cause after it when that says something else. Npgsql's "Couldn't set max pool size" stays in front of the
    /// dictionary lookup that caused it; "Failed to connect to 10.0.0.5:5432" keeps its "Connection refused".
    /// </summary>
    internal static string Describe(Exception? exception)
    {
        if (exception is null)
        {
            return "The check failed without an exception.";
        }

        var outer = exception;
        while (outer.InnerException is { } inner && IsWrapper(outer))
        {
            outer = inner;
        }

        var root = outer.GetBaseException();
        if (ReferenceEquals(root, outer) || string.IsNullOrEmpty(root.Message) || outer.Message.Contains(root.Message, StringComparison.Ordinal))
        {
            return outer.Message;
        }

        return string.Concat(outer.Message, " (cause: ", root.Message, ")");
    }

    private static bool IsWrapper(Exception exception) =>
        exception is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException
        || string.IsNullOrEmpty(exception.Message)
        || exception.Message.Contains("inner exception", StringComparison.OrdinalIgnoreCase);

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

    private static void DisposeQuietly(AsyncServiceScope? scope)
    {
        if (scope is not { } owned)
        {
            return;
        }

        try
        {
            var disposing = owned.DisposeAsync();
            if (!disposing.IsCompletedSuccessfully)
            {
                _ = AwaitDisposalAsync(disposing);
            }
        }
#pragma warning disable CA1031 // A scoped service that fails to dispose must not take the evaluation down.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static async Task AwaitDisposalAsync(ValueTask disposing)
    {
        try
        {
            await disposing.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // As above.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void NoteTransition(CheckState state, string name, HealthReportEntry entry, DateTimeOffset now)
    {
        var previous = state.LastStatus;
        state.LastStatus = entry.Status;
        if (previous == entry.Status)
        {
            return;
        }

        state.LastTransition = now;
        if (IsLiveness)
        {
            // Events of their own: a failing live check gets the container restarted, which an operator must tell
            // apart from the same check failing readiness.
            if (entry.Status == HealthStatus.Healthy)
            {
                Log.LiveCheckHealthy(_logger, name, previous?.ToString() ?? "none");
            }
            else
            {
                Log.LiveCheckNotHealthy(_logger, name, entry.Status, previous?.ToString() ?? "none", entry.Description ?? entry.Exception?.Message ?? "no description");
            }
        }
        else if (entry.Status == HealthStatus.Healthy)
        {
            Log.CheckHealthy(_logger, name, previous?.ToString() ?? "none");
        }
        else
        {
            Log.CheckNotHealthy(_logger, name, entry.Status, previous?.ToString() ?? "none", entry.Description ?? entry.Exception?.Message ?? "no description");
        }
    }

    /// <summary>One evaluation: its slots, the checks not yet claimed, the cancellation of each deadline, the result.</summary>
    internal sealed class Evaluation : IThreadPoolWorkItem
    {
        public Evaluation(HealthEvaluator owner, Plan plan, long started)
        {
            Owner = owner;
            Plan = plan;
            Started = started;
            Slots = new Slot[plan.Checks.Length];
            Remaining = Slots.Length;
            Cancellations = new CancellationTokenSource[plan.Deadlines.Length];
            for (var i = 0; i < Cancellations.Length; i++)
            {
                // No timer inside: the watchdog cancels it. Never disposed, as a hung check may still hold its token;
                // without a timer or a wait handle there is nothing to release.
                Cancellations[i] = new CancellationTokenSource();
            }
        }

        public HealthEvaluator Owner { get; }

        public Plan Plan { get; }

        public long Started { get; }

        public Slot[] Slots { get; }

        public CancellationTokenSource[] Cancellations { get; }

        public TaskCompletionSource<HealthSnapshot> Completion { get; } = new();

#pragma warning disable SA1401, CA1051 // Updated with Interlocked.
        public int Next;

        public int Remaining;

        public int Finished;
#pragma warning restore SA1401, CA1051

        void IThreadPoolWorkItem.Execute() => Owner.Drive(this);
    }

    /// <summary>One check within one evaluation; its fields are updated with Interlocked where threads meet.</summary>
    internal struct Slot
    {
        public const int Waiting = 0;
        public const int Running = 1;
        public const int Done = 2;

#pragma warning disable CA1051 // A mutable slot in an array, updated in place.
        public int Phase;

        /// <summary>1 while the evaluation's thread is inside the check's synchronous part.</summary>
        public int InCall;

        public int Rescued;

        public bool Joined;

        public long Started;

        public HealthReportEntry Entry;
#pragma warning restore CA1051
    }

    internal sealed record PlannedCheck(HealthCheckRegistration Registration, CheckState State, DeployHealthCheckOptions? Options, TimeSpan Deadline, int Group);

    internal sealed record Plan(IReadOnlyCollection<HealthCheckRegistration> Source, int SourceCount, PlannedCheck[] Checks, TimeSpan[] Deadlines, TimeSpan FirstWatch);

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, EventName = "CheckHealthy", Level = LogLevel.Information,
            Message = "Health check '{CheckName}' is Healthy (was {PreviousStatus}).")]
        public static partial void CheckHealthy(ILogger logger, string checkName, string previousStatus);

        [LoggerMessage(EventId = 101, EventName = "CheckNotHealthy", Level = LogLevel.Warning,
            Message = "Health check '{CheckName}' is {Status} (was {PreviousStatus}): {Reason}")]
        public static partial void CheckNotHealthy(ILogger logger, string checkName, HealthStatus status, string previousStatus, string reason);

        [LoggerMessage(EventId = 102, EventName = "CheckTimedOut", Level = LogLevel.Debug,
            Message = "Health check '{CheckName}' did not finish within its {DeadlineMs} ms deadline.")]
        public static partial void CheckTimedOut(ILogger logger, string checkName, double deadlineMs);

        [LoggerMessage(EventId = 110, EventName = "LiveCheckHealthy", Level = LogLevel.Information,
            Message = "Liveness check '{CheckName}' is Healthy (was {PreviousStatus}).")]
        public static partial void LiveCheckHealthy(ILogger logger, string checkName, string previousStatus);

        [LoggerMessage(EventId = 111, EventName = "LiveCheckNotHealthy", Level = LogLevel.Warning,
            Message = "Liveness check '{CheckName}' is {Status} (was {PreviousStatus}): {Reason}")]
        public static partial void LiveCheckNotHealthy(ILogger logger, string checkName, HealthStatus status, string previousStatus, string reason);

        [LoggerMessage(EventId = 70, EventName = "CheckBlocksCaller", Level = LogLevel.Debug,
            Message = "Health check '{CheckName}' held its caller's thread for {HeldMs} ms before returning its task; it now starts on a thread of its own.")]
        public static partial void CheckBlocksCaller(ILogger logger, string checkName, double heldMs);
    }
}

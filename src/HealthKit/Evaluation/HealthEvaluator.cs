// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using HealthKit.Diagnostics;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Evaluation;

/// <summary>
/// Produces the readiness result: the cached one while it is fresh, otherwise one evaluation that every concurrent
/// probe joins (single flight). Checks run over the registrations of the framework's health checks, but not through
/// <see cref="HealthCheckService"/>: that service awaits a check that ignores its token for as long as it hangs,
/// and HealthKit must answer within the deadline whatever the check does.
/// </summary>
internal sealed partial class HealthEvaluator
{
    private static readonly IReadOnlyDictionary<string, object> NoData = new Dictionary<string, object>();

    private readonly IServiceScopeFactory _scopeFactory;
    private readonly IOptions<HealthCheckServiceOptions> _registrations;
    private readonly DeployHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<HealthEvaluator> _logger;
    private readonly HealthKitMetrics _metrics;
    private readonly VerdictSignal _signal;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CheckState> _states = new(StringComparer.OrdinalIgnoreCase);
    private HealthSnapshot? _last;
    private Task<HealthSnapshot>? _running;

    public HealthEvaluator(
        IServiceScopeFactory scopeFactory,
        IOptions<HealthCheckServiceOptions> registrations,
        IOptions<DeployHealthOptions> options,
        TimeProvider time,
        ILogger<HealthEvaluator> logger,
        HealthKitMetrics metrics,
        VerdictSignal signal)
    {
        _metrics = metrics;
        _signal = signal;
        _scopeFactory = scopeFactory;
        _registrations = registrations;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Gets the last finished evaluation, or <see langword="null"/> before the first one.</summary>
    public HealthSnapshot? Last => Volatile.Read(ref _last);

    /// <summary>Returns the cached result while it is fresh, else joins or starts the one running evaluation.</summary>
    public ValueTask<HealthSnapshot> GetAsync()
    {
        var last = Volatile.Read(ref _last);
        if (CanServe(last))
        {
            _metrics.RecordCacheHit();
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

    /// <summary>A result may answer a probe while it is fresh; in background mode, the last one always does.</summary>
    private bool CanServe([NotNullWhen(true)] HealthSnapshot? snapshot) =>
        snapshot is not null && (_options.BackgroundEvaluation || _time.GetElapsedTime(snapshot.Timestamp) < _options.CacheDuration);

    private Task<HealthSnapshot> Join()
    {
        lock (_gate)
        {
            var last = _last;
            return CanServe(last) ? Task.FromResult(last) : EvaluateNowAsync();
        }
    }

    private Task<HealthSnapshot> Start()
    {
        // The evaluation outlives the probe that started it and serves others: it must not carry that request's
        // ExecutionContext (its IHttpContextAccessor value, its Activity) into the checks.
        using (ExecutionContext.SuppressFlow())
        {
            return _running = Task.Run(EvaluateAsync);
        }
    }

    private async Task<HealthSnapshot> EvaluateAsync()
    {
        var started = _time.GetTimestamp();
        var registrations = _registrations.Value.Registrations;
        var names = new List<string>(registrations.Count);
        var runs = new List<Task<HealthReportEntry>>(registrations.Count);
        foreach (var registration in registrations)
        {
            if (_options.GetCheck(registration.Name) is { Enabled: false })
            {
                continue;
            }

            names.Add(registration.Name);
            runs.Add(RunWithDeadlineAsync(registration));
        }

        await Task.WhenAll(runs).ConfigureAwait(false);

        var now = _time.GetUtcNow();
        var entries = new Dictionary<string, HealthReportEntry>(names.Count, StringComparer.OrdinalIgnoreCase);
        var transitions = new Dictionary<string, DateTimeOffset>(names.Count, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < names.Count; i++)
        {
            var state = GetState(names[i]);
            var entry = Tolerate(state, runs[i].Result, _options.GetCheck(names[i]));
            entries[names[i]] = entry;
            NoteTransition(state, names[i], entry, now);
            transitions[names[i]] = state.LastTransition;
            _metrics.RecordCheck(names[i], entry);
        }

        _metrics.RecordEvaluation();
        var snapshot = new HealthSnapshot(new HealthReport(entries, _time.GetElapsedTime(started)), _time.GetTimestamp(), now, transitions);
        Volatile.Write(ref _last, snapshot);
        _signal.Notify();
        return snapshot;
    }

    private async Task<HealthReportEntry> RunWithDeadlineAsync(HealthCheckRegistration registration)
    {
        var deadline = DeadlineOf(registration, _options);
        var started = _time.GetTimestamp();
        var state = GetState(registration.Name);
        Task<HealthReportEntry> run;
        bool stillRunning;
        lock (state)
        {
            stillRunning = state.Running is { IsCompleted: false };
            if (!stillRunning)
            {
                var cancellation = new CancellationTokenSource();
                state.Cancellation = cancellation;
                state.Running = RunCheckAsync(registration, cancellation);
            }

            run = state.Running!;
        }

        try
        {
            return await run.WaitAsync(deadline, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            CancelQuietly(state);
            var description = string.Format(
                CultureInfo.InvariantCulture,
                stillRunning ? "Timed out after {0:0} ms; still running from an earlier evaluation." : "Timed out after {0:0} ms.",
                deadline.TotalMilliseconds);
            Log.CheckTimedOut(_logger, registration.Name, deadline.TotalMilliseconds);
            return new HealthReportEntry(HealthStatus.Unhealthy, description, _time.GetElapsedTime(started), null, NoData, registration.Tags);
        }
    }

    /// <summary>The deadline of one check: its HealthKit setting, else its registration's timeout, else the default.</summary>
    public static TimeSpan DeadlineOf(HealthCheckRegistration registration, DeployHealthOptions options)
    {
        if (options.GetCheck(registration.Name)?.Timeout is { } configured)
        {
            return configured;
        }

        return registration.Timeout > TimeSpan.Zero ? registration.Timeout : options.Timeout;
    }

    /// <summary>
    /// Flap tolerance: a failure counts only once the check has failed the configured number of consecutive times
    /// and for the configured time; until then it reports Degraded, which keeps the instance in the balancer.
    /// </summary>
    private HealthReportEntry Tolerate(CheckState state, HealthReportEntry entry, DeployHealthCheckOptions? check)
    {
        if (entry.Status != HealthStatus.Unhealthy)
        {
            state.ConsecutiveFailures = 0;
            state.FailingSince = null;
            return entry;
        }

        state.ConsecutiveFailures++;
        state.FailingSince ??= _time.GetTimestamp();
        if (check is null
            || (state.ConsecutiveFailures >= check.FailureThreshold && _time.GetElapsedTime(state.FailingSince.Value) >= check.FailureGracePeriod))
        {
            return entry;
        }

        var description = string.Format(
            CultureInfo.InvariantCulture,
            "Failure {0} tolerated (counts after {1} in a row and {2:0.###} s failing): {3}",
            state.ConsecutiveFailures,
            check.FailureThreshold,
            check.FailureGracePeriod.TotalSeconds,
            entry.Description);
        return new HealthReportEntry(HealthStatus.Degraded, description, entry.Duration, entry.Exception, entry.Data, entry.Tags);
    }

    private static void CancelQuietly(CheckState state)
    {
        try
        {
            state.Cancellation?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run finished between the deadline and this call: nothing is left to cancel.
        }
        catch (AggregateException)
        {
            // A check's own cancellation callback threw; the check is already reported as timed out.
        }
    }

    private Task<HealthReportEntry> RunCheckAsync(HealthCheckRegistration registration, CancellationTokenSource cancellation)
    {
        // Task.Run: a check that blocks synchronously before its first await (AspNetCore.HealthChecks.Redis does
        // when Redis is down) must not block the evaluation, or the deadline could not be enforced.
        return Task.Run(async () =>
        {
            var started = _time.GetTimestamp();
            try
            {
                var scope = _scopeFactory.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    var check = registration.Factory(scope.ServiceProvider);
                    var context = new HealthCheckContext { Registration = registration };
                    var result = await check.CheckHealthAsync(context, cancellation.Token).ConfigureAwait(false);
                    return new HealthReportEntry(
                        result.Status, result.Description, _time.GetElapsedTime(started), result.Exception, result.Data ?? NoData, registration.Tags);
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return new HealthReportEntry(
                    HealthStatus.Unhealthy, "Cancelled at its deadline.", _time.GetElapsedTime(started), null, NoData, registration.Tags);
            }
#pragma warning disable CA1031 // Any exception from a check is its result, never the probe's failure.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                // The innermost message says what failed ("Connection refused"); wrappers such as EF Core's retry
                // strategy only say that something did.
                return new HealthReportEntry(
                    registration.FailureStatus, exception.GetBaseException().Message, _time.GetElapsedTime(started), exception, NoData, registration.Tags);
            }
            finally
            {
                cancellation.Dispose();
            }
        });
    }

    private CheckState GetState(string name)
    {
        lock (_states)
        {
            if (!_states.TryGetValue(name, out var state))
            {
                state = new CheckState();
                _states.Add(name, state);
            }

            return state;
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
        if (entry.Status == HealthStatus.Healthy)
        {
            Log.CheckHealthy(_logger, name, previous?.ToString() ?? "none");
        }
        else
        {
            Log.CheckNotHealthy(_logger, name, entry.Status, previous?.ToString() ?? "none", entry.Description ?? entry.Exception?.Message ?? "no description");
        }
    }

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
    }
}

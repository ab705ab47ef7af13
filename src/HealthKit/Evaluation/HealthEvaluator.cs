// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.CodeAnalysis;
using HealthKit.Diagnostics;
using HealthKit.Registry;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Evaluation;

/// <summary>
/// The cache and the single flight: answers with the last result while it is fresh, otherwise with the one running
/// evaluation, which every concurrent caller joins. The checks themselves run in the <see cref="CheckRunner"/>, over
/// <see cref="HealthKitRegistry"/> (the app's registrations and HealthKit's own) but not through
/// <see cref="HealthCheckService"/>: that service awaits a check that ignores its token for as long as it hangs, and
/// HealthKit must answer within the deadline whatever the check does.
/// </summary>
/// <remarks>
/// Readiness and liveness are two instances of this class that differ only in their <see cref="CheckSet"/>: the
/// liveness one, keyed <see cref="LivenessKey"/>, evaluates the app's <c>live</c>-tagged checks with the same deadlines,
/// cache and single flight and a state of its own, so a liveness probe never waits for, or restarts, readiness'
/// evaluation.
/// </remarks>
internal sealed class HealthEvaluator : IDisposable
{
    /// <summary>How the description of a check cut off at its deadline begins.</summary>
    internal const string TimedOutPrefix = FailureDescription.TimedOutPrefix;

    /// <summary>The service key of the liveness instance.</summary>
    public const string LivenessKey = "HealthKit.Liveness";

    private readonly HealthKitRegistry _registry;
    private readonly CheckSet _set;
    private readonly DeployHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly VerdictSignal _signal;
    private readonly TransitionObserver _observer;
    private readonly SnapshotBuilder _snapshots;
    private readonly CheckRunner _runner;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CheckState> _states = new(StringComparer.OrdinalIgnoreCase);
    private HealthSnapshot? _last;
    private Task<HealthSnapshot>? _running;
    private EvaluationPlan? _plan;

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
        _signal = signal;
        _registry = registry;
        _options = options.Value;
        _time = time;
        _observer = new TransitionObserver(set, logger, metrics);
        _snapshots = new SnapshotBuilder(_options, time, _observer);
        _runner = new CheckRunner(scopeFactory, time, logger, Complete);
    }

    /// <summary>Gets whether this instance has any check to evaluate (liveness has none unless the app tagged some <c>live</c>).</summary>
    public bool HasChecks => Registrations.Count > 0;

    /// <summary>
    /// Gets the last finished evaluation, or <see langword="null"/> before the first one. A result that has outgrown its
    /// bound (its refresh is stuck) reads as Unhealthy here, never as the pass it once was.
    /// </summary>
    public HealthSnapshot? Last
    {
        get
        {
            var last = Volatile.Read(ref _last);
            if (last is null)
            {
                return null;
            }

            var now = _time.GetTimestamp();
            return now < last.StaleAt ? last : _snapshots.MarkStale(last, now);
        }
    }

    private IReadOnlyList<HealthCheckRegistration> Registrations => _set.Select(_registry);

    /// <summary>The deadline of one check: its HealthKit setting, else its registration's timeout, else the default.</summary>
    public static TimeSpan DeadlineOf(HealthCheckRegistration registration, DeployHealthOptions options) =>
        EvaluationPlan.DeadlineOf(registration, options);

    /// <summary>The deadline of the check named <paramref name="name"/> in this set, or the default for a name it does not hold.</summary>
    public TimeSpan DeadlineOf(string name)
    {
        foreach (var registration in Registrations)
        {
            if (string.Equals(registration.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return EvaluationPlan.DeadlineOf(registration, _options);
            }
        }

        return _options.CheckDeadline;
    }

    /// <summary>Returns the cached result while it is fresh, else joins or starts the one running evaluation.</summary>
    public ValueTask<HealthSnapshot> GetAsync()
    {
        var last = Volatile.Read(ref _last);
        if (CanServe(last))
        {
            _observer.CacheHit();
            return ValueTask.FromResult(last);
        }

        return new ValueTask<HealthSnapshot>(Join());
    }

    /// <summary>Runs an evaluation now (or joins the running one), ignoring the cache; a check within its interval still reuses its result.</summary>
    public Task<HealthSnapshot> EvaluateNowAsync()
    {
        lock (_gate)
        {
            return _running is { IsCompleted: false } running ? running : Start();
        }
    }

    public void Dispose() => _runner.Dispose();

    /// <summary>
    /// A result may answer a probe while it is fresh (in background mode, however old it is) and while none of its
    /// checks' results has outgrown its bound.
    /// </summary>
    private bool CanServe([NotNullWhen(true)] HealthSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return false;
        }

        var now = _time.GetTimestamp();
        return now < snapshot.StaleAt && (_options.EvaluatesInBackground || _time.GetElapsedTime(snapshot.Timestamp, now) < _options.CacheDuration);
    }

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
        _plan = EvaluationPlan.For(_plan, Registrations, _options, StateOf);

        var evaluation = _runner.Start(_plan);
        return _running = evaluation.Completion.Task;
    }

    private CheckState StateOf(string name)
    {
        if (!_states.TryGetValue(name, out var state))
        {
            state = new CheckState();
            _states.Add(name, state);
        }

        return state;
    }

    /// <summary>Every check has its entry: the snapshot replaces the last one and the waiting callers get it.</summary>
    private void Complete(RunningEvaluation evaluation)
    {
        try
        {
            var snapshot = _snapshots.Build(evaluation);
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
}

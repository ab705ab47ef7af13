// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Verdict;

/// <summary>
/// The one place that decides readiness and liveness. Readiness: the first closed gate (draining, starting,
/// overloaded) wins; otherwise the evaluator's cached single-flight result, as the judges (fleet rules) read it.
/// Liveness: the first closed liveness gate (an overdue heartbeat), else the app's <c>live</c>-tagged checks, else
/// alive; HealthKit's dependency checks never count.
/// Every door (the first middleware, Kestrel's connection level, gRPC, the probe port, the HAProxy agent) asks here
/// and only renders the answer.
/// </summary>
internal sealed class HealthVerdict
{
    private readonly HealthEvaluator _evaluator;
    private readonly HealthEvaluator _liveness;
    private readonly IReadinessGate[] _readinessGates;
    private readonly ILivenessGate[] _livenessGates;
    private readonly IReadinessJudge[] _judges;
    private readonly VerdictSignal _signal;
    private readonly StartupWork _startup;

    public HealthVerdict(
        HealthEvaluator evaluator,
        [FromKeyedServices(HealthEvaluator.LivenessKey)] HealthEvaluator liveness,
        IEnumerable<IReadinessGate> readinessGates,
        IEnumerable<ILivenessGate> livenessGates,
        IEnumerable<IReadinessJudge> judges,
        VerdictSignal signal,
        StartupWork startup)
    {
        _startup = startup;
        _evaluator = evaluator;
        _liveness = liveness;

        // Arrays: the probe path reads every gate on every request, without an enumerator per probe.
        _readinessGates = [.. readinessGates];
        _livenessGates = [.. livenessGates];
        _judges = [.. judges];
        _signal = signal;
    }

    /// <summary>
    /// Readiness for a door that can wait: a closed gate answers at once; otherwise the cached result, or the one
    /// running evaluation joined (never more than one at a time, whatever the number of probers).
    /// </summary>
    public ValueTask<ProbeVerdict> ReadinessAsync()
    {
        if (_startup.IsPending)
        {
            _startup.OnProbe();
        }

        if (ClosedGate() is { } closed)
        {
            return ValueTask.FromResult(closed with { Snapshot = _evaluator.Last });
        }

        var pending = _evaluator.GetAsync();
        return pending.IsCompletedSuccessfully
            ? ValueTask.FromResult(Judge(pending.Result))
            : AwaitAsync(pending);
    }

    /// <summary>
    /// Readiness for a door that must answer now (the probe port on its own threads, the HAProxy agent, gRPC Watch):
    /// the last result, with a refresh started in the background when it is stale so a door that is the only prober
    /// still sees a failing dependency. Before the first evaluation: Unhealthy, "starting".
    /// </summary>
    public ProbeVerdict Readiness()
    {
        if (_startup.IsPending)
        {
            _startup.OnProbe();
        }

        if (ClosedGate() is { } closed)
        {
            return closed with { Snapshot = _evaluator.Last };
        }

        var refresh = _evaluator.GetAsync();
        var last = refresh.IsCompletedSuccessfully ? refresh.Result : _evaluator.Last;
        return last is null ? NotYetEvaluated : Judge(last);
    }

    /// <summary>
    /// Liveness for a door that can wait: a closed liveness gate (an overdue heartbeat) answers at once; otherwise the
    /// app's <c>live</c>-tagged checks, from their own cached single-flight evaluation; alive when there are none.
    /// HealthKit's dependency checks never count: a database outage must not get every container restarted. Before
    /// the first evaluation of the <c>live</c> checks has finished, the same rule as <see cref="Liveness"/>: alive,
    /// with that evaluation started, so every door (one that can wait and one that must answer now) says the same.
    /// </summary>
    public ValueTask<ProbeVerdict> LivenessAsync()
    {
        if (ClosedLivenessGate() is { } stuck)
        {
            return ValueTask.FromResult(stuck);
        }

        if (!_liveness.HasChecks)
        {
            return ValueTask.FromResult(ProbeVerdict.Alive);
        }

        if (_liveness.Last is null)
        {
            return ValueTask.FromResult(Liveness());
        }

        var pending = _liveness.GetAsync();
        return pending.IsCompletedSuccessfully
            ? ValueTask.FromResult(Live(pending.Result))
            : AwaitLiveAsync(pending);
    }

    /// <summary>
    /// Liveness for a door that must answer now: the last result of the <c>live</c>-tagged checks, with a refresh
    /// started in the background when it is stale. Before their first evaluation: alive (a process that is starting
    /// is not stuck, and restarting it would only start it again).
    /// </summary>
    public ProbeVerdict Liveness()
    {
        if (ClosedLivenessGate() is { } stuck)
        {
            return stuck;
        }

        if (!_liveness.HasChecks)
        {
            return ProbeVerdict.Alive;
        }

        var refresh = _liveness.GetAsync();
        var last = refresh.IsCompletedSuccessfully ? refresh.Result : _liveness.Last;
        return last is null ? ProbeVerdict.Alive : Live(last);
    }

    /// <summary>Returns a token that fires when the verdict may have changed, for doors that push changes.</summary>
    public IChangeToken GetChangeToken() => _signal.GetChangeToken();

    private static ProbeVerdict NotYetEvaluated { get; } = new(HealthStatus.Unhealthy, VerdictReason.Starting, "starting", null);

    private ProbeVerdict? ClosedLivenessGate()
    {
        foreach (var gate in _livenessGates)
        {
            if (gate.NotLive(out var detail) is var cause and not VerdictReason.None)
            {
                return new ProbeVerdict(HealthStatus.Unhealthy, cause, detail, null);
            }
        }

        return null;
    }

    private static ProbeVerdict Live(HealthSnapshot snapshot) =>
        new(snapshot.Status, snapshot.Status == HealthStatus.Unhealthy ? VerdictReason.ChecksFailing : VerdictReason.None, null, snapshot);

    private async ValueTask<ProbeVerdict> AwaitLiveAsync(ValueTask<HealthSnapshot> pending)
    {
        var snapshot = await pending.ConfigureAwait(false);

        // A heartbeat may have become overdue while the checks ran: the gate still wins.
        return ClosedLivenessGate() is { } stuck ? stuck with { Snapshot = snapshot } : Live(snapshot);
    }

    private ProbeVerdict? ClosedGate()
    {
        foreach (var gate in _readinessGates)
        {
            if (gate.NotReady(out var detail) is var cause and not VerdictReason.None)
            {
                return new ProbeVerdict(HealthStatus.Unhealthy, cause, detail, null);
            }
        }

        return null;
    }

    private ProbeVerdict Judge(HealthSnapshot snapshot)
    {
        var status = snapshot.Status;
        var cause = VerdictReason.None;
        string? reason = null;
        foreach (var judge in _judges)
        {
            status = judge.Judge(snapshot, status, out var judged, out var note);
            if (judged != VerdictReason.None)
            {
                cause = judged;
                reason = note;
            }
        }

        if (cause == VerdictReason.None && status == HealthStatus.Unhealthy)
        {
            cause = VerdictReason.ChecksFailing;
        }

        return new ProbeVerdict(status, cause, reason, snapshot);
    }

    private async ValueTask<ProbeVerdict> AwaitAsync(ValueTask<HealthSnapshot> pending)
    {
        var snapshot = await pending.ConfigureAwait(false);

        // A drain may have begun while the evaluation ran: the gate still wins.
        return ClosedGate() is { } closed ? closed with { Snapshot = snapshot } : Judge(snapshot);
    }
}

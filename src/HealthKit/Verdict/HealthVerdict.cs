// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Verdict;

/// <summary>
/// The one place that decides readiness and liveness. Readiness: the first closed gate (draining, starting,
/// overloaded) wins; otherwise the evaluator's cached single-flight result, as the judges (fleet rules) read it.
/// Liveness: the first closed liveness gate (an overdue heartbeat), else alive; dependencies never count.
/// Every door (the first middleware, Kestrel's connection level, gRPC, the probe port, the HAProxy agent) asks here
/// and only renders the answer.
/// </summary>
internal sealed class HealthVerdict
{
    private readonly HealthEvaluator _evaluator;
    private readonly IReadinessGate[] _readinessGates;
    private readonly ILivenessGate[] _livenessGates;
    private readonly IReadinessJudge[] _judges;
    private readonly VerdictSignal _signal;

    public HealthVerdict(
        HealthEvaluator evaluator,
        IEnumerable<IReadinessGate> readinessGates,
        IEnumerable<ILivenessGate> livenessGates,
        IEnumerable<IReadinessJudge> judges,
        VerdictSignal signal)
    {
        _evaluator = evaluator;

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
        if (ClosedGate() is { } reason)
        {
            return ValueTask.FromResult(new ProbeVerdict(HealthStatus.Unhealthy, reason, _evaluator.Last));
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
        if (ClosedGate() is { } reason)
        {
            return new ProbeVerdict(HealthStatus.Unhealthy, reason, _evaluator.Last);
        }

        var refresh = _evaluator.GetAsync();
        var last = refresh.IsCompletedSuccessfully ? refresh.Result : _evaluator.Last;
        return last is null ? new ProbeVerdict(HealthStatus.Unhealthy, "starting", null) : Judge(last);
    }

    /// <summary>Liveness: the process is alive unless a liveness gate says it is stuck. Never waits.</summary>
    public ValueTask<ProbeVerdict> LivenessAsync() => ValueTask.FromResult(Liveness());

    /// <summary>Liveness, for a door that must answer now.</summary>
    public ProbeVerdict Liveness()
    {
        foreach (var gate in _livenessGates)
        {
            if (gate.NotLiveReason is { } reason)
            {
                return new ProbeVerdict(HealthStatus.Unhealthy, reason, null);
            }
        }

        return ProbeVerdict.Alive;
    }

    /// <summary>Returns a token that fires when the verdict may have changed, for doors that push changes.</summary>
    public IChangeToken GetChangeToken() => _signal.GetChangeToken();

    private string? ClosedGate()
    {
        foreach (var gate in _readinessGates)
        {
            if (gate.NotReadyReason is { } reason)
            {
                return reason;
            }
        }

        return null;
    }

    private ProbeVerdict Judge(HealthSnapshot snapshot)
    {
        var status = snapshot.Status;
        string? reason = null;
        foreach (var judge in _judges)
        {
            status = judge.Judge(snapshot, status, out var note);
            reason = note ?? reason;
        }

        return new ProbeVerdict(status, reason, snapshot);
    }

    private async ValueTask<ProbeVerdict> AwaitAsync(ValueTask<HealthSnapshot> pending)
    {
        var snapshot = await pending.ConfigureAwait(false);

        // A drain may have begun while the evaluation ran: the gate still wins.
        return ClosedGate() is { } reason ? new ProbeVerdict(HealthStatus.Unhealthy, reason, snapshot) : Judge(snapshot);
    }
}

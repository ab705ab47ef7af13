// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Options;

namespace HealthKit.Safety;

/// <summary>
/// An overdue heartbeat fails liveness, on every door. Kubernetes' rule is that liveness never depends on other
/// systems, because restarting every instance does not fix a database; a heartbeat is not another system but the
/// process's own progress: a worker loop that stopped beating is stuck, and restarting it is the remedy. Readiness
/// fails too, through the heartbeat's check. Read on every liveness probe: one dictionary read per declared worker,
/// no allocation until a heartbeat is overdue. Not while the host stops: workers end before the process does.
/// </summary>
internal sealed class HeartbeatLivenessGate : ILivenessGate
{
    private readonly HeartbeatDeclaration[] _declared;
    private readonly Heartbeats _heartbeats;
    private readonly DeployState _state;

    public HeartbeatLivenessGate(
        IEnumerable<HeartbeatDeclaration> declared,
        Heartbeats heartbeats,
        DeployState state,
        IOptions<DeployHealthOptions> options)
    {
        var enabled = new List<HeartbeatDeclaration>();
        foreach (var declaration in declared)
        {
            // DeployHealth:Checks:heartbeat_{name}:Enabled=false switches the worker's heartbeat off on both probes.
            if (options.Value.GetCheck(declaration.CheckName) is not { Enabled: false })
            {
                enabled.Add(declaration);
            }
        }

        _declared = [.. enabled];
        _heartbeats = heartbeats;
        _state = state;
    }

    /// <inheritdoc/>
    public VerdictReason NotLive(out string? detail)
    {
        detail = NotLiveReason;
        return detail is null ? VerdictReason.None : VerdictReason.Stuck;
    }

    /// <summary>Gets why the process is stuck (an overdue heartbeat, named), or <see langword="null"/>.</summary>
    public string? NotLiveReason
    {
        get
        {
            if (_declared.Length == 0 || _state.IsStopping)
            {
                return null;
            }

            foreach (var declaration in _declared)
            {
                var (age, _) = _heartbeats.AgeOf(declaration.Name);
                if (age > declaration.MaxAge)
                {
                    return string.Format(
                        CultureInfo.InvariantCulture,
                        "stuck: heartbeat '{0}' overdue ({1:0.#} s since the last beat, at most {2:0.#} s allowed)",
                        declaration.Name,
                        age.TotalSeconds,
                        declaration.MaxAge.TotalSeconds);
                }
            }

            return null;
        }
    }
}

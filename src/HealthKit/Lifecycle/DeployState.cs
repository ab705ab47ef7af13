// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Verdict;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// Where the instance is in its life, as readiness must report it: starting (host not started, or within the
/// start-up grace), serving, or draining (manually, or because the host is stopping).
/// </summary>
internal sealed class DeployState : IDrainSwitch, IReadinessGate
{
    private const string Draining = "draining";
    private const string Starting = "starting";

    private readonly TimeProvider _time;
    private readonly TimeSpan _startupGrace;
    private readonly VerdictSignal _signal;
    private long _startedAt = -1;
    private volatile bool _manualDrain;
    private volatile bool _stopping;

    public DeployState(TimeProvider time, IOptions<DeployHealthOptions> options, VerdictSignal signal)
    {
        _time = time;
        _signal = signal;
        _startupGrace = options.Value.Startup.ReadinessDelay;
    }

    public bool IsDraining => _manualDrain || _stopping;

    public bool IsStopping => _stopping;

    /// <summary>Gets why readiness must fail whatever the checks say, or <see langword="null"/>.</summary>
    public string? NotReadyReason => NotReady(out var detail) == VerdictReason.None ? null : detail;

    /// <inheritdoc/>
    public VerdictReason NotReady(out string? detail)
    {
        if (_stopping || _manualDrain)
        {
            detail = Draining;
            return VerdictReason.Draining;
        }

        var started = Interlocked.Read(ref _startedAt);
        if (started < 0 || (_startupGrace > TimeSpan.Zero && _time.GetElapsedTime(started) < _startupGrace))
        {
            detail = Starting;
            return VerdictReason.Starting;
        }

        detail = null;
        return VerdictReason.None;
    }

    public void Drain()
    {
        _manualDrain = true;
        _signal.Notify();
    }

    public void Resume()
    {
        _manualDrain = false;
        _signal.Notify();
    }

    internal void MarkStarted()
    {
        Interlocked.CompareExchange(ref _startedAt, _time.GetTimestamp(), -1);
        _signal.Notify();
    }

    internal void MarkStopping()
    {
        _stopping = true;
        _signal.Notify();
    }
}

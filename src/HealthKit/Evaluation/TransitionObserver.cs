// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Evaluation;

/// <summary>
/// Watches finished results, never runs a check: logs a check's status when it changes (once each way, not on every
/// evaluation), remembers when it changed, and counts evaluations, check results and cache hits in the metrics. Which
/// events it logs and whether it counts come from its <see cref="CheckSet"/>: readiness counts, and liveness logs
/// events of its own without counting (a <c>live</c> check is in readiness too, and is counted there once).
/// </summary>
internal sealed partial class TransitionObserver(CheckSet set, ILogger logger, HealthKitMetrics metrics)
{
    private readonly HealthKitMetrics? _metrics = set.CountsInMetrics ? metrics : null;

    public void CacheHit() => _metrics?.RecordCacheHit();

    /// <summary>Notes one check's result of a finished evaluation; updates <paramref name="state"/>'s last status and transition.</summary>
    public void Observe(CheckState state, string name, in HealthReportEntry entry, DateTimeOffset now)
    {
        _metrics?.RecordCheck(name, entry);
        var previous = state.LastStatus;
        state.LastStatus = entry.Status;
        if (previous == entry.Status)
        {
            return;
        }

        state.LastTransition = now;
        var was = previous?.ToString() ?? "none";
        if (entry.Status == HealthStatus.Healthy)
        {
            set.Events.Healthy(logger, name, was);
        }
        else
        {
            set.Events.NotHealthy(logger, name, entry.Status, was, entry.Description ?? entry.Exception?.Message ?? "no description");
        }
    }

    public void EvaluationFinished() => _metrics?.RecordEvaluation();

    /// <summary>The two events a check set logs on a transition.</summary>
    internal sealed record Events(Action<ILogger, string, string> Healthy, Action<ILogger, string, HealthStatus, string, string> NotHealthy)
    {
        public static Events Readiness { get; } = new(Log.CheckHealthy, Log.CheckNotHealthy);

        // Events of their own: a failing live check gets the container restarted, which an operator must tell apart
        // from the same check failing readiness.
        public static Events Liveness { get; } = new(Log.LiveCheckHealthy, Log.LiveCheckNotHealthy);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, EventName = "CheckHealthy", Level = LogLevel.Information,
            Message = "Health check '{CheckName}' is Healthy (was {PreviousStatus}).")]
        public static partial void CheckHealthy(ILogger logger, string checkName, string previousStatus);

        [LoggerMessage(EventId = 101, EventName = "CheckNotHealthy", Level = LogLevel.Warning,
            Message = "Health check '{CheckName}' is {Status} (was {PreviousStatus}): {Reason}")]
        public static partial void CheckNotHealthy(ILogger logger, string checkName, HealthStatus status, string previousStatus, string reason);

        [LoggerMessage(EventId = 110, EventName = "LiveCheckHealthy", Level = LogLevel.Information,
            Message = "Liveness check '{CheckName}' is Healthy (was {PreviousStatus}).")]
        public static partial void LiveCheckHealthy(ILogger logger, string checkName, string previousStatus);

        [LoggerMessage(EventId = 111, EventName = "LiveCheckNotHealthy", Level = LogLevel.Warning,
            Message = "Liveness check '{CheckName}' is {Status} (was {PreviousStatus}): {Reason}")]
        public static partial void LiveCheckNotHealthy(ILogger logger, string checkName, HealthStatus status, string previousStatus, string reason);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Probing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// One log entry at start with what HealthKit will check and how, so an operator sees the whole picture in one
/// place; and a warning when a check's deadline cannot fit the balancer's probe timeout. Checks run concurrently,
/// so the longest deadline, not their sum, is what a probe may wait.
/// </summary>
internal sealed partial class StartupReport(
    IOptions<HealthCheckServiceOptions> registrations,
    IOptions<DeployHealthOptions> options,
    ProbePaths paths,
    ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var checks = new List<string>();
        var longest = TimeSpan.Zero;
        string? longestName = null;
        foreach (var registration in registrations.Value.Registrations)
        {
            if (settings.GetCheck(registration.Name) is { Enabled: false })
            {
                continue;
            }

            var deadline = HealthEvaluator.DeadlineOf(registration, settings);
            checks.Add($"{registration.Name} ({deadline.TotalMilliseconds:0} ms)");
            if (deadline > longest)
            {
                longest = deadline;
                longestName = registration.Name;
            }
        }

        Log.Started(
            logger,
            paths.Readiness,
            paths.Liveness,
            checks.Count == 0 ? "none" : string.Join(", ", checks),
            settings.CacheDuration.TotalMilliseconds,
            settings.BackgroundEvaluation ? "background" : "on demand");

        if (longestName is not null && longest >= settings.ProbeTimeout)
        {
            Log.DeadlineExceedsProbeTimeout(logger, longestName, longest.TotalMilliseconds, settings.ProbeTimeout.TotalMilliseconds);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, EventName = "StartupReport", Level = LogLevel.Information,
            Message = "HealthKit answers readiness at {ReadinessPath} and liveness at {LivenessPath}; checks: {Checks}; results cached {CacheMs} ms, evaluated {EvaluationMode}.")]
        public static partial void Started(ILogger logger, string readinessPath, string livenessPath, string checks, double cacheMs, string evaluationMode);

        [LoggerMessage(EventId = 21, EventName = "DeadlineExceedsProbeTimeout", Level = LogLevel.Warning,
            Message = "Health check '{CheckName}' may take {DeadlineMs} ms, but the balancer gives a probe {ProbeTimeoutMs} ms (DeployHealth:ProbeTimeout): a probe that waits for it times out and counts as a failure. Lower DeployHealth:Checks:{CheckName}:Timeout or DeployHealth:Timeout.")]
        public static partial void DeadlineExceedsProbeTimeout(ILogger logger, string checkName, double deadlineMs, double probeTimeoutMs);
    }
}

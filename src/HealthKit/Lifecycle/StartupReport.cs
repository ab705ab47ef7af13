// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Evaluation;
using HealthKit.Probing;
using HealthKit.Registry;
using HealthKit.Safety;
using HealthKit.Smoke;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// One log entry once the host has started with what HealthKit will check and how (checks, smoke pages, drain, agent, details, and
/// the deploy-safety warnings), so an operator sees the whole picture in one
/// place; and a warning when a check's deadline cannot fit the balancer's probe timeout. Checks run concurrently,
/// so the longest deadline, not their sum, is what a probe may wait.
/// </summary>
internal sealed partial class StartupReport(
    HealthKitRegistry registry,
    IOptions<DeployHealthOptions> options,
    ProbeRoute paths,
    IServiceProvider services,
    RegisteredServices registered,
    ILogger<StartupReport> logger) : StartedReport
{
    protected override void Report()
    {
        var settings = options.Value;
        var checks = new List<string>();
        var smokePages = new List<string>();
        var warnings = new List<string>();
        var longest = TimeSpan.Zero;
        string? longestName = null;
        foreach (var registration in registry.Readiness)
        {
            if (settings.GetCheck(registration.Name) is { Enabled: false })
            {
                continue;
            }

            var deadline = HealthEvaluator.DeadlineOf(registration, settings);
            if (registration.Name.StartsWith(SmokePageRegistration.NamePrefix, StringComparison.Ordinal))
            {
                smokePages.Add(registration.Name[SmokePageRegistration.NamePrefix.Length..]);
            }
            else
            {
                checks.Add($"{registration.Name} ({deadline.TotalMilliseconds:0} ms)");
            }

            if (deadline > longest)
            {
                longest = deadline;
                longestName = registration.Name;
            }
        }

        if (longestName is not null && longest >= settings.BalancerProbeTimeout)
        {
            warnings.Add($"check '{longestName}' may take longer than DeployHealth:BalancerProbeTimeout");
            Log.DeadlineExceedsProbeTimeout(logger, longestName, longest.TotalMilliseconds, settings.BalancerProbeTimeout.TotalMilliseconds);
        }

        AddDeploySafetyWarnings(warnings);
        Log.Started(
            logger,
            paths.Readiness,
            paths.Liveness,
            checks.Count == 0 ? "none" : string.Join(", ", checks),
            smokePages.Count == 0 ? "none" : string.Join(", ", smokePages),
            settings.CacheDuration.TotalMilliseconds,
            settings.EvaluatesInBackground ? "background" : "on demand",
            Balancers.BalancerDrain.Describe(settings),
            settings.Startup.ReadinessDelay.TotalMilliseconds,
            settings.Agent.Port is { } port ? $"{settings.Agent.Address}:{port}" : "off",
            settings.DetailsPolicy is { Length: > 0 } policy ? $"policy '{policy}'" : settings.ProbeListener.DetailsForLoopback ? "callers of the loopback probe listener" : "nobody",
            registered.HasHttpServer
                ? "the first middleware"
                : "none (no HTTP server: the middleware, the self-test, smoke pages and certificate checks are skipped)",
            settings.ProbeListener.Port is { } probePort ? $"{settings.ProbeListener.Address}:{probePort}" : "off",
            settings.EffectiveOverloadThreshold > TimeSpan.Zero ? $"{settings.EffectiveOverloadThreshold.TotalMilliseconds:0} ms" : "off",
            warnings.Count == 0 ? "none" : string.Join("; ", warnings));
    }

    /// <summary>
    /// A details policy that does not exist would leave operators without details and log a warning on every probe:
    /// stop the start instead, before the server binds, as options validation does.
    /// </summary>
    internal static async Task RequireDetailsPolicyAsync(IServiceProvider services, DeployHealthOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.DetailsPolicy))
        {
            return;
        }

        var policies = services.GetService<IAuthorizationPolicyProvider>();
        if (policies is null || await policies.GetPolicyAsync(settings.DetailsPolicy).ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException(
                $"DeployHealth:DetailsPolicy names the authorization policy '{settings.DetailsPolicy}', which is not registered: add it with AddAuthorization(o => o.AddPolicy(\"{settings.DetailsPolicy}\", ...)) or correct the name.");
        }
    }

    /// <summary>What the deploy-safety checks will report, said once at start where an operator reads the configuration.</summary>
    private void AddDeploySafetyWarnings(List<string> warnings)
    {
        var environment = services.GetService<IHostEnvironment>();
        if (environment is null || environment.IsDevelopment())
        {
            return;
        }

        if (services.GetService<IDataProtectionProvider>() is { } protection)
        {
            if (DataProtectionHealthCheck.FindSharingProblem(
                protection,
                services.GetRequiredService<IOptions<KeyManagementOptions>>().Value,
                DataProtectionHealthCheck.InContainer,
                DataProtectionHealthCheck.HasUserProfile) is { } problem)
            {
                warnings.Add(problem);
            }
            else if (DataProtectionHealthCheck.FindAdvice(services.GetRequiredService<IOptions<DataProtectionOptions>>().Value, environment.ContentRootPath) is { } advice)
            {
                // Not a warning: one instance with a persisted key ring is fine. Said once, where operators read the set-up.
                Log.DataProtectionAdvice(logger, advice);
            }
        }

        // By name: GetService<ISessionStore>() would load the sessions assembly into every app that has no sessions.
        if (services.GetService<RegisteredServices>()?.Has("Microsoft.AspNetCore.Session.ISessionStore") == true
            && services.GetService<IDistributedCache>() is MemoryDistributedCache)
        {
            warnings.Add("sessions are per instance (in-memory distributed cache)");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, EventName = "StartupReport", Level = LogLevel.Information,
            Message = "HealthKit answers readiness at {ReadinessPath} and liveness at {LivenessPath}; checks: {Checks}; smoke pages: {SmokePages}; results cached {CacheMs} ms, evaluated {EvaluationMode}; drain: {Drain}; start-up readiness delay {ReadinessDelayMs} ms; HAProxy agent: {Agent}; details for: {Details}; main port: {MainPort}; probe listener: {ProbeListener}; overload threshold: {Overload}; warnings: {Warnings}.")]
        public static partial void Started(ILogger logger, string readinessPath, string livenessPath, string checks, string smokePages, double cacheMs, string evaluationMode, string drain, double readinessDelayMs, string agent, string details, string mainPort, string probeListener, string overload, string warnings);

        [LoggerMessage(EventId = 280, EventName = "DataProtectionAdvice", Level = LogLevel.Information,
            Message = "Data Protection: {Advice}")]
        public static partial void DataProtectionAdvice(ILogger logger, string advice);

        [LoggerMessage(EventId = 21, EventName = "DeadlineExceedsProbeTimeout", Level = LogLevel.Warning,
            Message = "Health check '{CheckName}' may take {DeadlineMs} ms, but the balancer gives a probe {ProbeTimeoutMs} ms (DeployHealth:BalancerProbeTimeout): a probe that waits for it times out and counts as a failure. Lower DeployHealth:Checks:{CheckName}:Deadline or DeployHealth:CheckDeadline.")]
        public static partial void DeadlineExceedsProbeTimeout(ILogger logger, string checkName, double deadlineMs, double probeTimeoutMs);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Evaluation;
using HealthKit.Registry;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Checks;

/// <summary>
/// What the dependency tests do to an application on real Kestrel: start it with HealthKit registered before or
/// after the dependency, probe readiness as a balancer does, wait (bounded) for a status, read the last report.
/// </summary>
internal static class DependencyProbe
{
    /// <summary>The Host header an AWS ALB sends: the target's private IP and port.</summary>
    public const string AlbHost = "10.0.3.7:8080";

    /// <summary>AddDeployHealth is called before the dependency's registration.</summary>
    public const string HealthFirst = "health-first";

    /// <summary>AddDeployHealth is called after the dependency's registration.</summary>
    public const string DependencyFirst = "dependency-first";

    /// <summary>
    /// Starts an application that registers <paramref name="dependency"/> and HealthKit in the order named by
    /// <paramref name="order"/>. Readiness is evaluated on every probe unless <paramref name="configuration"/> says otherwise.
    /// </summary>
    public static Task<KestrelApp> StartAsync(string order, Action<IServiceCollection> dependency, Dictionary<string, string?>? configuration = null, Action<WebApplicationBuilder>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00" };
        foreach (var pair in configuration ?? [])
        {
            settings[pair.Key] = pair.Value;
        }

        return KestrelApp.StartAsync(
            builder =>
            {
                switch (order)
                {
                    case HealthFirst:
                        builder.Services.AddDeployHealth();
                        dependency(builder.Services);
                        break;
                    case DependencyFirst:
                        dependency(builder.Services);
                        builder.Services.AddDeployHealth();
                        break;
                    default:
                        throw new ArgumentOutOfRangeException(nameof(order), order, "Expected HealthFirst or DependencyFirst.");
                }

                more?.Invoke(builder);
            },
            configuration: settings);
    }

    /// <summary>One readiness probe as an ALB sends it, on a connection of its own; fails after <paramref name="timeout"/> (10 s by default).</summary>
    public static Task<RawResponse> ReadinessAsync(KestrelApp app, TimeSpan? timeout = null) =>
        RawHttp.SendAsync(app.Address, $"GET /health HTTP/1.1\r\nHost: {AlbHost}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nConnection: close\r\n\r\n", timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>Probes every 200 ms until readiness answers <paramref name="status"/>, for at most <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">It never did; the message has the last answer and report.</exception>
    public static async Task<RawResponse> WaitForStatusAsync(KestrelApp app, int status, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var response = await ReadinessAsync(app);
            if (response.Status == status)
            {
                return response;
            }

            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                throw new TimeoutException($"Readiness did not answer {status} within {timeout.TotalSeconds:0} s; last: {response}. {Describe(app)}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The report of the last finished evaluation.</summary>
    public static HealthReport LastReport(KestrelApp app) =>
        app.Services.GetRequiredService<HealthEvaluator>().Last?.Report ?? throw new InvalidOperationException("No evaluation has finished yet.");

    /// <summary>The names of the registered health checks, sorted.</summary>
    /// <summary>The dependency checks of the app; the deploy-safety and resource checks every host gets are left out.</summary>
    public static string[] CheckNames(KestrelApp app) =>
        app.Services.GetRequiredService<HealthKitRegistry>().Readiness
            .Where(r => !r.Tags.Contains("safety") && !r.Tags.Contains("resources"))
            .Select(r => r.Name)
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Each entry of the last report as "name: status (description)", for test output and failure messages.</summary>
    public static string Describe(KestrelApp app)
    {
        var last = app.Services.GetRequiredService<HealthEvaluator>().Last;
        return last is null
            ? "No evaluation has finished yet."
            : string.Join("; ", last.Report.Entries.Select(e => $"{e.Key}: {e.Value.Status} in {e.Value.Duration.TotalMilliseconds:0} ms ({e.Value.Description ?? e.Value.Exception?.GetType().Name})"));
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Output;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Tests.Diagnostics;

/// <summary>
/// What a probe costs in logs: nothing per probe at Information or above, one entry per check and transition with the
/// reason, and nothing in the app's request logging, which probes never reach.
/// </summary>
public sealed class ProbeLoggingTests
{
    private const string Reason = "Disk full on the ledger volume.";

    [Fact]
    public async Task HundredProbes_AcrossTransitions_OneEntryPerTransitionAndNothingPerProbe()
    {
        var failing = false;
        await using var app = await DetailsApp.StartPlainAsync(
            checks: health =>
            {
                health.AddCheck("ledger", () => Volatile.Read(ref failing) ? HealthCheckResult.Unhealthy(Reason) : HealthCheckResult.Healthy("Ledger writes."));
                health.AddCheck("search", () => HealthCheckResult.Healthy());
            },
            configureBuilder: builder => builder.Services.AddHttpLogging(o => o.LoggingFields = HttpLoggingFields.RequestPath | HttpLoggingFields.ResponseStatusCode),
            configureApp: app => app.UseHttpLogging(),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00" });
        await app.WaitForLogAsync("StartupReport");
        await ServerHost.WaitUntilAsync("both checks' first results", () => Task.FromResult(app.Logs.GetSnapshot().Count(r => r.Id.Name == "CheckHealthy") == 2), TimeSpan.FromSeconds(10));
        Assert.Equal(
            ["ledger none", "search none"],
            app.Logs.GetSnapshot().Where(r => r.Id.Name == "CheckHealthy").Select(r => $"{r.GetStructuredStateValue("CheckName")} {r.GetStructuredStateValue("PreviousStatus")}").Order());

        // From here on only what the probes cause: start-up entries (the report, the first results) are behind us.
        app.Logs.Clear();

        for (var i = 0; i < 100; i++)
        {
            if (i == 30)
            {
                Volatile.Write(ref failing, true);
            }
            else if (i == 70)
            {
                Volatile.Write(ref failing, false);
            }

            var response = await SendProbeAsync(app, i);
            Assert.NotEqual(500, response.Status);
        }

        await RawHttp.GetAsync(app.Address, "/", app.Address.Authority);

        var records = app.Logs.GetSnapshot();
        var healthKit = records
            .Where(r => r.Level >= LogLevel.Information && r.Category is { } c && c.StartsWith("HealthKit.", StringComparison.Ordinal) && !c.StartsWith("HealthKit.Tests", StringComparison.Ordinal))
            .Select(r => $"{r.Id.Id} {r.Id.Name} {r.Level} {r.GetStructuredStateValue("CheckName")} {r.GetStructuredStateValue("PreviousStatus")}")
            .Order()
            .ToList();
        Assert.Equal(["100 CheckHealthy Information ledger Unhealthy", "101 CheckNotHealthy Warning ledger Healthy"], healthKit);

        var transition = Assert.Single(records, r => r.Id.Name == "CheckNotHealthy");
        Assert.Equal("Unhealthy", transition.GetStructuredStateValue("Status"));
        Assert.Equal(Reason, transition.GetStructuredStateValue("Reason"));
        Assert.Contains(Reason, transition.Message);

        // The app's request logging sits in the pipeline behind HealthKit: it logs the app's request, never a probe.
        // {Path}/ui is a page for people inside the app's pipeline, not a probe, so it may be logged like any page.
        var loggedPaths = records
            .Where(r => r.Category == "Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware" && r.GetStructuredStateValue("Path") is not null)
            .Select(r => r.GetStructuredStateValue("Path"))
            .ToList();
        Assert.Equal(["/"], loggedPaths.Where(p => p != "/health/ui"));
    }

    private static Task<RawResponse> SendProbeAsync(KestrelApp app, int i)
    {
        var host = app.Address.Authority;
        return (i % 6) switch
        {
            0 => RawHttp.GetAsync(app.Address, "/health", host),
            1 => RawHttp.GetAsync(app.Address, "/health/live", host),
            2 => RawHttp.GetAsync(app.Address, "/health/ready", host, extraHeaders: "Accept: text/plain\r\nX-Forwarded-For: 203.0.113.5\r\n"),
            3 => RawHttp.GetAsync(app.Address, "/health", host, method: "HEAD"),
            4 => RawHttp.GetAsync(app.Address, "/health/", host),
            _ => RawHttp.GetAsync(app.Address, "/health", host, method: "POST", extraHeaders: "Content-Length: 0\r\n"),
        };
    }
}

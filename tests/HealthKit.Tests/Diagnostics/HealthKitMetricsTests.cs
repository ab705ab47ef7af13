// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics.Metrics;
using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Output;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HealthKit.Tests.Diagnostics;

/// <summary>
/// The <c>HealthKit</c> meter as an OpenTelemetry exporter would read it, through the app's own
/// <see cref="IMeterFactory"/>: probes by endpoint and status code, evaluations, cache hits, check durations and statuses.
/// </summary>
public sealed class HealthKitMetricsTests
{
    private const string Operator = "Authorization: Bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n";
    private const string User = "Authorization: Bearer " + TokenAuthenticationHandler.UserToken + "\r\n";

    [Fact]
    public async Task Probes_CountedByEndpointAndStatusCode()
    {
        await using var app = await DetailsApp.StartWithPolicyAsync(configuration: Settings("00:01:00"));
        await WaitForFirstEvaluationAsync(app);
        using var probes = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "HealthKit", "healthkit.probes");

        for (var i = 0; i < 3; i++)
        {
            await GetAsync(app, "/health");
        }

        await GetAsync(app, "/health/live");
        await GetAsync(app, "/health/live");
        await GetAsync(app, "/health/ready", Operator);
        await RawHttp.GetAsync(app.Address, "/health", app.Address.Authority, method: "POST", extraHeaders: "Content-Length: 0\r\n");
        await GetAsync(app, "/health/ui", Operator);
        await GetAsync(app, "/health/ui", User);
        await GetAsync(app, "/health/ui");
        await GetAsync(app, "/");

        Assert.Equal("{probe}", probes.Instrument!.Unit);
        var counts = probes.GetMeasurementSnapshot()
            .GroupBy(m => $"{m.Tags["healthkit.endpoint"]} {m.Tags["http.response.status_code"]}")
            .ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(
            new Dictionary<string, long>
            {
                ["ready 503"] = 4,
                ["ready 405"] = 1,
                ["live 200"] = 2,
                ["ui 200"] = 1,
                ["ui 403"] = 1,
                ["ui 401"] = 1,
            },
            counts);
    }

    [Fact]
    public async Task Readiness_WithinCacheDuration_CacheHitsWithoutEvaluations()
    {
        await using var app = await DetailsApp.StartPlainAsync(configuration: Settings("00:01:00"));
        await WaitForFirstEvaluationAsync(app);
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var evaluations = new MetricCollector<long>(meters, "HealthKit", "healthkit.evaluations");
        using var hits = new MetricCollector<long>(meters, "HealthKit", "healthkit.cache.hits");

        for (var i = 0; i < 5; i++)
        {
            await GetAsync(app, "/health", "X-Forwarded-For: 198.51.100.7\r\n");
        }

        Assert.Empty(evaluations.GetMeasurementSnapshot());
        Assert.Equal(5, hits.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal("{evaluation}", evaluations.Instrument!.Unit);
    }

    [Fact]
    public async Task Readiness_CacheOff_OneEvaluationPerProbe_CheckDurationsAndStatuses()
    {
        await using var app = await DetailsApp.StartPlainAsync(
            checks: health =>
            {
                health.AddCheck("db", () => HealthCheckResult.Healthy());
                health.AddCheck("search", () => HealthCheckResult.Degraded("Index is rebuilding."));
                health.AddCheck("payments", () => HealthCheckResult.Unhealthy("Gateway refused."));
            },
            configuration: Settings("00:00:00"));
        await WaitForFirstEvaluationAsync(app);
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var evaluations = new MetricCollector<long>(meters, "HealthKit", "healthkit.evaluations");
        using var hits = new MetricCollector<long>(meters, "HealthKit", "healthkit.cache.hits");
        using var durations = new MetricCollector<double>(meters, "HealthKit", "healthkit.check.duration");
        using var statuses = new MetricCollector<double>(meters, "HealthKit", "healthkit.check.status");

        for (var i = 0; i < 3; i++)
        {
            await GetAsync(app, "/health", "X-Real-IP: 198.51.100.7\r\n");
        }

        Assert.Equal(3, evaluations.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Empty(hits.GetMeasurementSnapshot());

        Assert.Equal("s", durations.Instrument!.Unit);
        var perCheck = durations.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["healthkit.check"]!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["db"] = 3, ["search"] = 3, ["payments"] = 3 }, perCheck);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.InRange(m.Value, 0, 5));

        statuses.RecordObservableInstruments();
        var latest = statuses.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["healthkit.check"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["db"] = 1, ["search"] = 0.5, ["payments"] = 0 }, latest);
    }

    [Fact]
    public async Task Probes_AnsweredInFrontOfThePipeline_LeftOutOfHostingRequestMetrics()
    {
        // ASP.NET Core's own http.server.request.duration counts user traffic: HealthKit switches it off for probes,
        // so a balancer's probes neither inflate request counts nor drag latency percentiles down.
        await using var app = await DetailsApp.StartPlainAsync(configuration: Settings("00:01:00"));
        using var requests = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), "Microsoft.AspNetCore.Hosting", "http.server.request.duration");

        // One connection, the page last: Kestrel ends each request (where hosting records it) before it reads the
        // next, so once the page's measurement is in, any the probes had made would be in too.
        var host = app.Address.Authority;
        var answers = await RawHttp.SendManyAsync(
            app.Address,
            $"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\nGET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\nGET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
            3);
        await requests.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));

        Assert.Equal(3, answers.Count);
        Assert.Equal(200, answers[2].Status);

        var routes = requests.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("http.route", out var route) ? route as string : null).ToList();
        Assert.Equal(["/"], routes);
    }

    private static Dictionary<string, string?> Settings(string cacheDuration) => new()
    {
        ["DeployHealth:CacheDuration"] = cacheDuration,

        // A cache may not outlast the probe timeout; a long one here keeps the cache fresh for the whole test.
        ["DeployHealth:BalancerProbeTimeout"] = "00:01:00",

        // The start-up self-test sends one liveness probe of its own at a moment the test does not control.
        ["DeployHealth:SelfTest"] = "false",
    };

    private static Task WaitForFirstEvaluationAsync(KestrelApp app)
    {
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();
        return ServerHost.WaitUntilAsync("the first evaluation", () => Task.FromResult(evaluator.Last is not null), TimeSpan.FromSeconds(10));
    }

    private static Task<RawResponse> GetAsync(KestrelApp app, string path, string headers = "") =>
        RawHttp.GetAsync(app.Address, path, app.Address.Authority, extraHeaders: headers);
}

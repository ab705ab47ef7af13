// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Net;
using HealthKit.Evaluation;
using HealthKit.Tests.Checks;
using HealthKit.Tests.Infrastructure;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Registry;

/// <summary>
/// HealthKit's own checks (discovered, smoke pages) live in its own registry: the app's HealthCheckService, its
/// MapHealthChecks endpoints and its publishers see only the app's checks, while HealthKit's readiness evaluates
/// both, and liveness evaluates the app's live-tagged checks only.
/// </summary>
public sealed class HealthKitRegistryTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("healthkit-registry-");

    private string ConnectionString => $"Data Source={Path.Combine(_directory.FullName, "shop.db")};Pooling=False";

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task Readiness_AppWithItsOwnMapHealthChecks_AppSeesOnlyItsChecksAndHealthKitEvaluatesAll()
    {
        // Pending migrations and a failing smoke page: HealthKit's findings, which the app's /healthz must not show.
        await ShopContext.MigrateAsync(ShopOptions(), ShopContext.Initial);
        var published = new PublishedReports();
        var renders = 0;
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseSqlite(ConnectionString)));
                builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy("mine"), ["live"]);
                builder.Services.AddSingleton<IHealthCheckPublisher>(published);
                builder.Services.Configure<HealthCheckPublisherOptions>(o => o.Delay = TimeSpan.FromMilliseconds(100));
                builder.Services.AddDeployHealth().AddSmokePage("/");
            },
            app =>
            {
                app.MapGet("/", () =>
                {
                    Interlocked.Increment(ref renders);
                    return Results.StatusCode(500);
                });
                app.MapHealthChecks("/healthz");
            });
        using var client = new HttpClient { BaseAddress = app.Address };

        var appReport = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var appEndpoint = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        var publisherReport = await published.FirstAsync();
        var healthKit = await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync();
        var probe = await client.GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal(["self"], appReport.Entries.Keys);
        Assert.Equal(HttpStatusCode.OK, appEndpoint.StatusCode);
        Assert.Equal("Healthy", await appEndpoint.Content.ReadAsStringAsync());
        Assert.Equal(["self"], publisherReport.Entries.Keys);
        Assert.Equal(
            ["ShopContext", "self", "smoke /"],
            healthKit.Report.Entries.Where(e => !e.Value.Tags.Contains("safety") && !e.Value.Tags.Contains("resources")).Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(HealthStatus.Unhealthy, healthKit.Report.Entries["ShopContext"].Status);
        Assert.Equal(HealthStatus.Unhealthy, healthKit.Report.Entries["smoke /"].Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, probe.StatusCode);
        Assert.True(renders > 0, "HealthKit's readiness rendered the smoke page.");
    }

    [Fact]
    public async Task Liveness_AppCheckTaggedLiveUnhealthy_Answers503()
    {
        await using var app = await KestrelApp.StartAsync(builder =>
            builder.Services.AddDeployHealth().AddCheck("self", () => HealthCheckResult.Unhealthy("stuck"), ["live"]));
        using var client = new HttpClient { BaseAddress = app.Address };

        // Before the live checks' first evaluation every door answers alive (a starting process is not stuck).
        var live = await LiveStatusOnceEvaluatedAsync(client);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, live);
        var logged = await app.WaitForLogAsync("LiveCheckNotHealthy");
        Assert.Contains("'self' is Unhealthy", logged.Message);
        Assert.Contains("stuck", logged.Message);
    }

    [Fact]
    public async Task Liveness_HealthKitsDependencyAndSmokeChecksFailing_StaysAlive()
    {
        await ShopContext.MigrateAsync(ShopOptions(), ShopContext.Initial);
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseSqlite(ConnectionString)));
                builder.Services.AddDeployHealth().AddSmokePage("/")
                    .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
            },
            app => app.MapGet("/", () => Results.StatusCode(500)));
        using var client = new HttpClient { BaseAddress = app.Address };

        var ready = await client.GetAsync(new Uri("/health", UriKind.Relative));
        var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var liveReport = app.Services.GetRequiredKeyedService<HealthEvaluator>(HealthEvaluator.LivenessKey).Last;
        Assert.NotNull(liveReport);
        Assert.Equal(["self"], liveReport.Report.Entries.Keys);
    }

    [Fact]
    public async Task Liveness_ManyConcurrentProbes_RunTheLiveCheckOncePerCachePeriod()
    {
        var runs = 0;
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddAsyncCheck(
                "self",
                async () =>
                {
                    Interlocked.Increment(ref runs);
                    await Task.Delay(50);
                    return HealthCheckResult.Healthy();
                },
                ["live"]),
            // The start-up self-test probes liveness too; it is left out so only this test's probes count.
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:04", ["DeployHealth:SelfTest"] = "false" });
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        // Readiness evaluates every app check, the live one included, once right after start: let it finish first.
        await evaluator.EvaluateNowAsync();
        var beforeLiveness = Volatile.Read(ref runs);
        using var client = new HttpClient { BaseAddress = app.Address };
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync(new Uri("/health/live", UriKind.Relative))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(beforeLiveness + 1, Volatile.Read(ref runs));
    }

    [Fact]
    public async Task Liveness_LiveCheckHangs_AnswersUnhealthyAtItsDeadline()
    {
        using var release = new CancellationTokenSource();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddAsyncCheck(
                "self",
                async () =>
                {
                    // Ignores the evaluator's token, as a hung check does.
                    await Task.Delay(Timeout.Infinite, release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    return HealthCheckResult.Healthy();
                },
                ["live"]),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CheckDeadline"] = "00:00:00.2" });
        using var client = new HttpClient { BaseAddress = app.Address };

        var live = await LiveStatusOnceEvaluatedAsync(client);
        await release.CancelAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, live);
        Assert.Contains("Timed out after 200 ms", (await app.WaitForLogAsync("LiveCheckNotHealthy")).Message);
    }

    [Fact]
    public async Task Liveness_DoorThatMustAnswerNow_GetsAliveFirstThenTheLastLiveResult()
    {
        var healthy = true;
        await using var app = await KestrelApp.StartAsync(builder =>
            builder.Services.AddDeployHealth().AddCheck("self", () => Volatile.Read(ref healthy) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("stuck"), ["live"]),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00" });
        var verdict = app.Services.GetRequiredService<HealthVerdict>();
        Volatile.Write(ref healthy, false);

        // Never waits: the first answer is alive (nothing evaluated yet), and kicks the evaluation it then reads.
        var first = verdict.Liveness();
        var until = DateTime.UtcNow.AddSeconds(30);
        var current = verdict.Liveness();
        while (current.IsUp && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
            current = verdict.Liveness();
        }

        Assert.True(first.IsUp);
        Assert.False(current.IsUp, "Liveness() never reported the failing live check.");
        Assert.Equal(HealthStatus.Unhealthy, current.Snapshot!.Report.Entries["self"].Status);
    }

    [Fact]
    public async Task Liveness_NoLiveTaggedCheck_EvaluatesNothing()
    {
        var runs = 0;
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddCheck("db", () =>
            {
                Interlocked.Increment(ref runs);
                return HealthCheckResult.Unhealthy("down");
            }),
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:04" });
        await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync();
        var afterReadiness = Volatile.Read(ref runs);
        using var client = new HttpClient { BaseAddress = app.Address };

        var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(afterReadiness, Volatile.Read(ref runs));
        Assert.Null(app.Services.GetRequiredKeyedService<HealthEvaluator>(HealthEvaluator.LivenessKey).Last);
    }

    private DbContextOptions<ShopContext> ShopOptions() =>
        (DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseSqlite(ConnectionString)).Options;

    private sealed class PublishedReports : IHealthCheckPublisher
    {
        private readonly TaskCompletionSource<HealthReport> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<HealthReport> All { get; } = new();

        public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
        {
            All.Enqueue(report);
            _first.TrySetResult(report);
            return Task.CompletedTask;
        }

        public Task<HealthReport> FirstAsync() => _first.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Polls the liveness path (bounded) until it stops answering the alive of before the first evaluation.</summary>
    private static async Task<HttpStatusCode> LiveStatusOnceEvaluatedAsync(HttpClient client)
    {
        var status = HttpStatusCode.OK;
        await ServerHost.WaitUntilAsync(
            "liveness to follow the live check's first evaluation",
            async () =>
            {
                using var response = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
                status = response.StatusCode;
                return status != HttpStatusCode.OK;
            },
            TimeSpan.FromSeconds(30));
        return status;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Aspire.Tests;

/// <summary>
/// A HealthKit app under an Aspire AppHost, as a new Aspire user runs it: the AppHost follows HealthKit's /health with
/// <c>WithHttpHealthCheck</c>, the app has ServiceDefaults' <c>self</c> check and endpoints. Aspire polls a healthy
/// resource every 30 s and an unhealthy one every second, so one break and mend costs up to 30 s: one test does both.
/// </summary>
public sealed class AppHostTests
{
    private const string Resource = "app";
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AppHost_HealthKitReadinessBreaksAndMends_AspireFollowsBothWays_LivenessStays()
    {
        using var cancellation = new CancellationTokenSource(Budget);
        var token = cancellation.Token;

        // DCP talks to the AppHost over plain HTTP on this machine: no development certificate is set up here.
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.HealthKit_AppHost>(["ASPIRE_ALLOW_UNSECURED_TRANSPORT=true"], token);
        await using var app = await appHost.BuildAsync(token);
        await app.StartAsync(token);
        var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
        var resource = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == Resource);
        var logs = new AppLogs(app.Services.GetRequiredService<ResourceLoggerService>(), resource, token);

        await notifications.WaitForResourceHealthyAsync(Resource, token);
        using var client = app.CreateHttpClient(Resource);

        // Healthy: HealthKit answers /health (ServiceDefaults' own /health is shadowed: its document lists HealthKit's
        // own checks beside the app's), its liveness, and Aspire's /alive. Asked for text/plain, HealthKit answers
        // in the words of the framework's health checks, as ServiceDefaults' endpoints do.
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/health", "text/plain"));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/health/live", "text/plain"));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/alive", "text/plain"));
        var details = (await GetAsync(client, "/health", "application/health+json")).Body;
        Assert.Contains("\"self\"", details);
        Assert.Contains("\"toggle\"", details);
        Assert.Contains("\"memory\"", details);

        // HealthKit's liveness runs ServiceDefaults' self check (event 110), and it says ServiceDefaults' /health
        // endpoint never runs (event 112).
        await logs.WaitForAsync("Liveness check 'self' is Healthy");
        await logs.WaitForAsync("The app maps endpoint 'Health checks' on /health, which HealthKit answers before routing");

        // Broken: HealthKit's readiness fails, Aspire sees Unhealthy on its next poll; liveness does not follow.
        Assert.Equal("fail", await client.GetStringAsync("/toggle?state=fail", token));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await WaitForAsync(client, "/health", HttpStatusCode.ServiceUnavailable, token));
        await notifications.WaitForResourceAsync(Resource, e => e.Snapshot.HealthStatus == HealthStatus.Unhealthy, token);
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/health/live", "text/plain"));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/alive", "text/plain"));

        // Mended: Aspire polls an unhealthy resource every second and sees Healthy again.
        Assert.Equal("pass", await client.GetStringAsync("/toggle?state=pass", token));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await WaitForAsync(client, "/health", HttpStatusCode.OK, token));
        await notifications.WaitForResourceHealthyAsync(Resource, token);

        // No spans for probes: Aspire's polls of /health (passing, then failing every second) and the probes above are
        // answered by HealthKit unrecorded, while an ordinary request is traced as before. ServiceDefaults' /alive is
        // the app's own endpoint, traced like any other (the template's filter for it is the user's to keep).
        Assert.Equal("HealthKit under Aspire", await client.GetStringAsync("/", token));
        var spans = await WaitForSpanAsync(client, "/", token);
        var seen = string.Join(", ", spans.Select(s => $"{s.Key}: {s.Value}"));
        Assert.True(spans.GetValueOrDefault("/alive") > 0, seen);
        foreach (var probe in new[] { "/health", "/health/live", "/health/ready" })
        {
            Assert.False(spans.ContainsKey(probe), $"{probe} left spans: {seen}");
        }
    }

    /// <summary>
    /// Reads the app's exported spans by path until <paramref name="path"/> has one: hosting stops a request's Activity,
    /// and the exporter takes it, just after the response has been sent.
    /// </summary>
    private static async Task<Dictionary<string, int>> WaitForSpanAsync(HttpClient client, string path, CancellationToken token)
    {
        while (true)
        {
            var spans = await client.GetFromJsonAsync<Dictionary<string, int>>("/spans", token) ?? [];
            if (spans.GetValueOrDefault(path) > 0)
            {
                return spans;
            }

            await Task.Delay(100, token);
        }
    }

    /// <summary>
    /// GETs <paramref name="path"/> until it answers <paramref name="status"/>: readiness is evaluated again once its
    /// 2 s cache is stale, so a status that must change is polled for, within the test's budget.
    /// </summary>
    private static async Task<(HttpStatusCode Status, string Body)> WaitForAsync(HttpClient client, string path, HttpStatusCode status, CancellationToken token)
    {
        while (true)
        {
            var answer = await GetAsync(client, path, "text/plain");
            if (answer.Status == status)
            {
                return answer;
            }

            await Task.Delay(200, token);
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient client, string path, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd(accept);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The app's console output as the AppHost collects it.</summary>
    private sealed class AppLogs
    {
        private readonly List<string> _lines = [];
        private readonly CancellationToken _token;

        public AppLogs(ResourceLoggerService logger, IResource resource, CancellationToken token)
        {
            _token = token;
            _ = Task.Run(
                async () =>
                {
                    await foreach (var batch in logger.WatchAsync(resource).WithCancellation(token))
                    {
                        lock (_lines)
                        {
                            foreach (var line in batch)
                            {
                                _lines.Add(line.Content);
                            }
                        }
                    }
                },
                token);
        }

        /// <summary>Waits until a line contains <paramref name="text"/>, for at most a minute.</summary>
        /// <exception cref="TimeoutException">No line did; the message has every line seen.</exception>
        public async Task WaitForAsync(string text)
        {
            for (var waited = 0; waited < 600; waited++)
            {
                lock (_lines)
                {
                    if (_lines.Exists(line => line.Contains(text, StringComparison.Ordinal)))
                    {
                        return;
                    }
                }

                await Task.Delay(100, _token);
            }

            lock (_lines)
            {
                throw new TimeoutException($"The app did not log '{text}'. It logged:\n{string.Join('\n', _lines)}");
            }
        }
    }
}

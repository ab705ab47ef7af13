// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net.Sockets;
using HealthKit.Tests.Doors.Agent;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// Start and stop as a balancer sees them, on real Kestrel: readiness fails while the instance starts and while it
/// drains on shutdown, liveness and the application keep answering, and the server stops only after the drain.
/// </summary>
public sealed class HostLifecycleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StopApplication_DrainDelay_ReadinessFailsWhileEverythingElseIsServedThenServerStops()
    {
        // The drain's 6 s pass on a fake clock: the test looks right after the drain began and 5 s into it, then lets
        // the drain end, however long a busy machine takes over each round of requests.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var agentPort = ServerHost.GetFreePort();
        await using var app = await LifecycleApp.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:Drain:Delay"] = "00:00:06",
                ["DeployHealth:Agent:Port"] = agentPort.ToString(),
            },
            configureBuilder: builder => builder.Services.AddSingleton<TimeProvider>(time));
        Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health")).Status);
        var health = app.Services.GetRequiredService<IDrainSwitch>();
        var port = app.Address.Port;

        var start = Stopwatch.GetTimestamp();
        // What SIGTERM does: signal, then the host's StopAsync (which RunAsync would call; the test calls it itself).
        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var stopping = app.App.StopAsync();
        await ServerHost.WaitUntilAsync("the drain to begin", () => Task.FromResult(health.IsDraining), Bound);

        // Twice: right after the drain began, and again 5 s into it.
        for (var round = 0; round < 2; round++)
        {
            var ready = await LifecycleApp.GetAsync(app, "/health");
            var readyPath = await LifecycleApp.GetAsync(app, "/health/ready");
            var live = await LifecycleApp.GetAsync(app, "/health/live");
            var page = await LifecycleApp.GetAsync(app, "/");
            var agent = await AgentListenerTests.ReadAgentLineAsync(agentPort);
            var at = Stopwatch.GetElapsedTime(start);
            output.WriteLine($"{at.TotalMilliseconds:0} ms into the drain: /health {ready.Status}, /health/ready {readyPath.Status}, /health/live {live.Status}, / {page.Status}, agent '{agent.TrimEnd()}'");

            Assert.False(stopping.IsCompleted, $"The host stopped before the 6 s drain was over, {at.TotalMilliseconds:0} ms after StopApplication.");
            Assert.Equal(503, ready.Status);
            Assert.Equal("""{"status":"fail"}""", ready.Body);
            Assert.Equal(503, readyPath.Status);
            Assert.Equal("""{"status":"fail"}""", readyPath.Body);
            Assert.Equal(200, live.Status);
            Assert.Equal(200, page.Status);
            Assert.Equal("app", page.Body);
            Assert.Equal("drain #draining\n", agent);
            time.Advance(TimeSpan.FromSeconds(5));
        }

        // 10 s on the drain's clock: past the 6 s drain, so the server stops.
        await stopping.WaitAsync(Bound);
        output.WriteLine($"Host stopped {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms after StopApplication (Drain:Delay 6 s on a fake clock).");
        Assert.False(await ServerHost.AcceptsAsync(port), "Kestrel still accepts connections after the host stopped.");
        var refused = await Assert.ThrowsAnyAsync<SocketException>(() => LifecycleApp.GetAsync(app, "/health/live"));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // A second stop (KestrelApp's disposal stops again) joins the finished drain instead of waiting another 2 s.
        await app.App.StopAsync().WaitAsync(Bound);
        Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "Draining");
    }

    [Fact]
    public async Task Start_StartupGrace_ReadinessFailsUntilGraceIsOverWhileLivenessPasses()
    {
        await using var app = await LifecycleApp.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["DeployHealth:Startup:ReadinessDelay"] = "00:00:01",
        });

        var ready = await LifecycleApp.GetAsync(app, "/health");
        var live = await LifecycleApp.GetAsync(app, "/health/live");
        var page = await LifecycleApp.GetAsync(app, "/");
        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"fail"}""", ready.Body);
        Assert.Equal(200, live.Status);
        Assert.Equal(200, page.Status);

        var waited = await LifecycleApp.WaitForStatusAsync(app, "/health", 200, Bound);
        output.WriteLine($"Readiness turned 200 {waited.TotalMilliseconds:0} ms after the first probe (Startup:ReadinessDelay 1 s).");
        Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health/ready")).Status);
    }

    [Fact]
    public async Task Start_FirstEvaluationFails_ReadinessFailsUntilTheCheckPasses()
    {
        var check = new SwitchableCheck { Healthy = false };
        await using var app = await LifecycleApp.StartAsync(
            check: check,
            configuration: new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00.200" });

        Assert.Equal(503, (await LifecycleApp.GetAsync(app, "/health")).Status);
        Assert.Equal(503, (await LifecycleApp.GetAsync(app, "/health/ready")).Status);
        Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health/live")).Status);

        check.Healthy = true;

        await LifecycleApp.WaitForStatusAsync(app, "/health", 200, Bound);
    }
}

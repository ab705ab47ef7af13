// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Safety;

/// <summary>An overdue heartbeat fails liveness as well as readiness, on the main port and the probe listener.</summary>
public sealed class HeartbeatLivenessGateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Liveness_HeartbeatOverdue_503OnEveryDoor_BeatRecovers()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddHeartbeat("orders-loop", TimeSpan.FromSeconds(1)),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:CacheDuration"] = "00:00:00",
                ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(),
                ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            });
        var heartbeat = app.Services.GetRequiredService<IHeartbeat>();

        // Never beaten since start: overdue once its maximum age has passed.
        foreach (var address in new[] { app.Address, app.ProbeAddress })
        {
            await ServerHost.WaitUntilAsync(
                $"liveness on {address} to fail for the overdue heartbeat",
                async () => (await RawHttp.GetAsync(address, "/health/live", "10.0.3.7:8080")).Status == 503,
                Bound);
        }

        // Readiness fails too, through the heartbeat's check, once an evaluation has seen it overdue.
        await ServerHost.WaitUntilAsync(
            "readiness to fail for the overdue heartbeat",
            async () => (await RawHttp.GetAsync(app.Address, "/health/ready", "10.0.3.7:8080")).Status == 503,
            Bound);

        // The worker beats again: liveness comes back on every door (a bounded poll, as the beats keep coming).
        using var beating = new CancellationTokenSource();
        var beats = Task.Run(async () =>
        {
            while (!beating.IsCancellationRequested)
            {
                heartbeat.Beat("orders-loop");
                await Task.Delay(50);
            }
        });
        try
        {
            foreach (var address in new[] { app.Address, app.ProbeAddress })
            {
                await ServerHost.WaitUntilAsync(
                    $"liveness on {address} to recover after the beat",
                    async () => (await RawHttp.GetAsync(address, "/health/live", "10.0.3.7:8080")).Status == 200,
                    Bound);
            }
        }
        finally
        {
            await beating.CancelAsync();
            await beats;
        }
    }
}

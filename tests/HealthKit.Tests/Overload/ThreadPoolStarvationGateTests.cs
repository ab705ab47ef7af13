// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Overload;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Overload;

/// <summary>The overload gate's effect on the wire; its rule, fed measured waits directly, is in <see cref="ThreadPoolStarvationRuleTests"/>.</summary>
public sealed class ThreadPoolStarvationGateTests
{
    private static readonly TimeSpan ProcessBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Overloaded_ReadinessFailsOnBothPorts_LivenessNever()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddCheck("db", () => HealthCheckResult.Healthy()),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(),
                ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
                ["DeployHealth:OverloadThreshold"] = "00:00:30",
            });
        await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync();
        var gate = app.Services.GetRequiredService<ThreadPoolStarvationGate>();

        // Measured waits over the (deliberately high) threshold, as the canary reports them under starvation; fed
        // faster than the real canary's calm samples could end the episode.
        using var starving = new CancellationTokenSource();
        var feed = Task.Run(async () =>
        {
            while (!starving.IsCancellationRequested)
            {
                gate.Observe(TimeSpan.FromSeconds(31));
                await Task.Delay(20);
            }
        });
        try
        {
            await ServerHost.WaitUntilAsync("the gate to close", () => Task.FromResult(gate.NotReadyReason is not null), TimeSpan.FromSeconds(30));
            foreach (var address in new[] { app.Address, app.ProbeAddress })
            {
                var ready = await RawHttp.GetAsync(address, "/health/ready", "10.0.3.7:8080");
                var live = await RawHttp.GetAsync(address, "/health/live", "10.0.3.7:8080");
                Assert.Equal(503, ready.Status);
                Assert.Equal("""{"status":"fail"}""", ready.Body);
                Assert.Equal(200, live.Status);
            }
        }
        finally
        {
            await starving.CancelAsync();
            await feed;
        }

        Assert.Equal(240, (await app.WaitForLogAsync("Overloaded")).Id.Id);
    }

    [Fact]
    public async Task RealStarvation_ProbePortLivenessAnswersThroughout_ReadinessOverloadedThenBack()
    {
        // Tried: a web app (tests/HealthKit.TestBusyApp) in its own process whose requests hold their pool thread
        // with Thread.Sleep, 64 at a time, bounded in count and time, on loopback: the pool starts with one thread
        // per core and grows by a few a second, so queued work waits for seconds. The default threshold (1 s with
        // ProbeListener:Port) is in force.
        var port = ServerHost.GetFreePort();
        await using var app = SampleProcess.Start(SampleProcess.AppPath("HealthKit.TestBusyApp"), [], new Dictionary<string, string?>
        {
            ["DeployHealth__ProbeListener__Port"] = port.ToString(),
            ["DeployHealth__ProbeListener__Address"] = "127.0.0.1",
            ["DeployHealth__ProbeListener__DetailsForLoopback"] = "true",
            ["DeployHealth__Drain__Delay"] = "00:00:00",
        });
        await app.WaitForListeningAsync(ProcessBound);
        var probes = new Uri($"http://127.0.0.1:{port}/");
        await WaitForReadinessAsync(app, probes, 200);

        var liveness = new List<int>();
        int? liveWhileOverloaded = null;
        string? overloadedDocument = null;
        using (var client = new HttpClient { Timeout = ProcessBound })
        using (var load = new CancellationTokenSource(TimeSpan.FromSeconds(45)))
        {
            var clients = BlockingLoad.Start(client, app.Address, load.Token);
            try
            {
                // Liveness and readiness on the probe port, in turns, while the pool is starved: liveness must answer
                // 200 every time, readiness must turn 503 with the overload reason.
                while (!load.IsCancellationRequested && overloadedDocument is null)
                {
                    liveness.Add((await RawHttp.GetAsync(probes, "/health/live", "10.0.3.7:8081")).Status);
                    var ready = await RawHttp.GetAsync(probes, "/health/ready", "10.0.3.7:8081");
                    if (ready.Status == 503 && ready.Body.Contains("overloaded: thread pool starved for", StringComparison.Ordinal))
                    {
                        overloadedDocument = ready.Body;
                        liveWhileOverloaded = (await RawHttp.GetAsync(probes, "/health/live", "10.0.3.7:8081")).Status;
                    }

                    await Task.Delay(250);
                }
            }
            finally
            {
                await load.CancelAsync();
                await Task.WhenAll(clients);
            }
        }

        Assert.True(overloadedDocument is not null, $"Readiness never said overloaded. Output:\n{app.Output}");
        Assert.All(liveness, status => Assert.Equal(200, status));
        Assert.Equal(200, liveWhileOverloaded);
        Assert.Contains("Readiness answers 503 (overloaded)", app.Output, StringComparison.Ordinal);

        // The load has stopped: the pool catches up and readiness comes back by itself, liveness still 200.
        await WaitForReadinessAsync(app, probes, 200);
        Assert.Equal(200, (await RawHttp.GetAsync(probes, "/health/live", "10.0.3.7:8081")).Status);
        await ServerHost.WaitUntilAsync(
            "the end of the overload to be logged",
            () => Task.FromResult(app.Output.Contains("The thread pool keeps up again", StringComparison.Ordinal)),
            ProcessBound);
    }

    /// <summary>Polls readiness on the probe port until it answers <paramref name="status"/>, within <see cref="ProcessBound"/>.</summary>
    private static async Task WaitForReadinessAsync(SampleProcess app, Uri probes, int status)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        RawResponse? last = null;
        while (System.Diagnostics.Stopwatch.GetElapsedTime(start) < ProcessBound)
        {
            if (app.HasExited)
            {
                Assert.Fail($"The app exited (code {app.ExitCode}) while readiness was expected to answer {status}. Output:\n{app.Output}");
            }

            last = await RawHttp.GetAsync(probes, "/health/ready", "10.0.3.7:8081");
            if (last.Status == status)
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"Readiness on the probe port did not answer {status} within {ProcessBound.TotalSeconds:0} s; last answer {last}. Output:\n{app.Output}");
    }
}

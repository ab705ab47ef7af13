// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Balancers;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Balancers;

/// <summary>
/// The drain that follows the balancers, with HealthKit's defaults (no Drain:Delay): behind a real HAProxy 2.6 with
/// <c>retries 0</c>, one of two instances under wrk load is stopped as SIGTERM stops it, and it must exit once
/// HAProxy has let go, with no request failed; an instance nobody probes or calls stops at once; with a kubelet's
/// probes the instance serves until the traffic stops.
/// </summary>
[Collection("balancer load")]
public sealed class BalancerDrainTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);

    /// <summary>No Drain:Delay (KestrelApp sets 0 for every other test): the drain follows the balancers.</summary>
    internal static readonly Dictionary<string, string?> Defaults = new() { ["DeployHealth:Drain:Delay"] = null };

    [Fact]
    public async Task Haproxy_Inter500Fall2_ExitsWithin5SecondsAndNoRequestFails()
    {
        var (stopped, wrk) = await StopOneBehindHaproxyAsync("inter 500 fall 2 rise 2", TimeSpan.FromSeconds(8));

        Assert.True(wrk.Non2xx == 0 && wrk.SocketErrors == 0, wrk.ToString());
        Assert.True(stopped < TimeSpan.FromSeconds(5), $"The instance exited {stopped.TotalMilliseconds:0} ms after the stop began.");
    }

    [Fact]
    public async Task Haproxy_Inter6sFall3_ExitsWithin24SecondsAndNoRequestFails()
    {
        var (stopped, wrk) = await StopOneBehindHaproxyAsync("inter 6s fall 3 rise 2", TimeSpan.FromSeconds(28));

        Assert.True(wrk.Non2xx == 0 && wrk.SocketErrors == 0, wrk.ToString());
        Assert.True(stopped < TimeSpan.FromSeconds(24), $"The instance exited {stopped.TotalMilliseconds:0} ms after the stop began.");
    }

    [Fact]
    public async Task NobodyProbesOrCalls_ExitsWithin3Seconds()
    {
        await using var app = await LifecycleApp.StartAsync("alone", Defaults);

        var start = Stopwatch.GetTimestamp();
        await app.App.StopAsync().WaitAsync(Bound);
        var stopped = Stopwatch.GetElapsedTime(start);

        output.WriteLine($"stopped after {stopped.TotalMilliseconds:0} ms");
        var ended = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "DrainEnded");
        Assert.Contains("no balancer was probing", ended.Message, StringComparison.Ordinal);
        Assert.True(stopped < TimeSpan.FromSeconds(3), $"Stopped after {stopped.TotalMilliseconds:0} ms.");
    }

    /// <summary>
    /// Kubernetes-shaped: a kubelet's readiness probe (<c>kube-probe/1.31</c>, period 1 s, failure threshold 3) and
    /// Service traffic straight to the pod that stops once the probe has failed three times, as the endpoint removal
    /// would. The instance serves every request until then, and stops after the floor and a quiet second.
    /// </summary>
    [Fact]
    public async Task KubeletProbes_ServesUntilTrafficStopsThenExits()
    {
        await using var app = await LifecycleApp.StartAsync("pod", Defaults);
        var host = $"127.0.0.1:{app.Address.Port}";
        var failuresInARow = 0;
        var kubeletFailures = 0;
        using var done = new CancellationTokenSource();
        var kubelet = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    var answer = await RawHttp.GetAsync(app.Address, "/health", host, extraHeaders: "User-Agent: kube-probe/1.31\r\nAccept: */*\r\n");
                    failuresInARow = answer.Status == 200 ? 0 : failuresInARow + 1;
                    kubeletFailures += answer.Status == 200 ? 0 : 1;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    return;
                }

                await Task.Delay(1000);
            }
        });
        await ServerHost.WaitUntilAsync("the kubelet in the ledger", () => Task.FromResult(Ledger(app).Snapshot().Any(p => p.Kind == ProberKind.Kubernetes && p.Count >= 3)), Bound);

        var served = 0;
        var failed = new List<string>();
        var traffic = Task.Run(async () =>
        {
            // Service traffic until the readiness probe has failed failureThreshold times.
            while (Volatile.Read(ref failuresInARow) < 3)
            {
                var answer = await RawHttp.GetAsync(app.Address, "/", "localhost");
                if (answer.Status == 200)
                {
                    served++;
                }
                else
                {
                    failed.Add(answer.ToString());
                }

                await Task.Delay(20);
            }
        });
        await Task.Delay(500);
        var start = Stopwatch.GetTimestamp();
        await app.App.StopAsync().WaitAsync(Bound);
        var stopped = Stopwatch.GetElapsedTime(start);
        await traffic.WaitAsync(Bound);
        await done.CancelAsync();
        await kubelet.WaitAsync(Bound);

        output.WriteLine($"served {served}, failed {failed.Count}; the kubelet saw {kubeletFailures} failing answers; stopped after {stopped.TotalMilliseconds:0} ms");
        output.WriteLine(Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "DrainEnded").Message);
        Assert.Empty(failed);
        Assert.True(served > 0);
        Assert.True(kubeletFailures >= 3, $"The kubelet saw {kubeletFailures} failing answers before the instance stopped.");
        Assert.True(stopped >= DrainRule.BlindAllowance, $"Stopped after {stopped.TotalMilliseconds:0} ms, before the Kubernetes floor.");
    }

    /// <summary>
    /// nginx open source never probes: nothing takes the instance out by readiness, so the drain waits the blind
    /// allowance for the traffic to stop and then stops; nginx passes the refused requests to the other instance.
    /// </summary>
    [Fact]
    public async Task NginxPassive_StopsAfterTheBlindAllowanceAndNoRequestFails()
    {
        await using var a = await LifecycleApp.StartAsync("a", Defaults);
        await using var b = await LifecycleApp.StartAsync("b", Defaults);
        await using var nginx = await NginxServer.StartAsync(port => $$"""
            upstream app {
                server 127.0.0.1:{{a.Address.Port}} max_fails=1 fail_timeout=10s;
                server 127.0.0.1:{{b.Address.Port}} max_fails=1 fail_timeout=10s;
            }
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    proxy_pass http://app;
                }
            }
            """);

        await using var wrk = WrkLoad.Start(nginx.Address, TimeSpan.FromSeconds(10));
        await Task.Delay(1000);
        var start = Stopwatch.GetTimestamp();
        await a.App.StopAsync().WaitAsync(Bound);
        var stopped = Stopwatch.GetElapsedTime(start);
        await wrk.CompleteAsync();

        output.WriteLine($"nginx: a stopped after {stopped.TotalMilliseconds:0} ms; wrk {wrk}.");
        var ended = Assert.Single(a.Logs.GetSnapshot(), r => r.Id.Name == "DrainEnded");
        output.WriteLine(ended.Message);
        Assert.Contains("no balancer was probing", ended.Message, StringComparison.Ordinal);
        Assert.True(wrk.Requests > 0 && wrk.Non2xx == 0 && wrk.SocketErrors == 0, $"{wrk}\n{nginx.ErrorLog}");
    }

    private static ProberLedger Ledger(KestrelApp app) => app.Services.GetRequiredService<ProberLedger>();

    private async Task<(TimeSpan Stopped, WrkLoad Wrk)> StopOneBehindHaproxyAsync(string check, TimeSpan load)
    {
        await using var a = await LifecycleApp.StartAsync("a", Defaults);
        await using var b = await LifecycleApp.StartAsync("b", Defaults);
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                balance roundrobin
                retries 0
                option httpchk GET /health
                http-check expect status 200
                server a 127.0.0.1:{a.Address.Port} check {check}
                server b 127.0.0.1:{b.Address.Port} check {check}
            """));
        await ServerHost.WaitUntilAsync(
            "both servers UP and HAProxy's interval learned",
            async () => (await HaproxyStats.GetServerRowAsync(haproxy, "be", "a"))["status"] == "UP"
                && (await HaproxyStats.GetServerRowAsync(haproxy, "be", "b"))["status"] == "UP"
                && Ledger(a).Snapshot().Any(p => p.Kind == ProberKind.Haproxy && p.Count >= 3),
            Bound);

        await using var wrk = WrkLoad.Start(haproxy.Address, load);
        await Task.Delay(1000);
        var start = Stopwatch.GetTimestamp();
        await a.App.StopAsync().WaitAsync(Bound);
        var stopped = Stopwatch.GetElapsedTime(start);
        await wrk.CompleteAsync();

        var haproxyProber = Ledger(a).Snapshot().First(p => p.Kind == ProberKind.Haproxy);
        output.WriteLine($"HAProxy {check}: a stopped after {stopped.TotalMilliseconds:0} ms; wrk {wrk}.");
        output.WriteLine($"ledger: {haproxyProber}");
        output.WriteLine(Assert.Single(a.Logs.GetSnapshot(), r => r.Id.Name == "DrainingUntilBalancersLetGo").Message);
        output.WriteLine(Assert.Single(a.Logs.GetSnapshot(), r => r.Id.Name == "DrainEnded").Message);
        Assert.True(wrk.Requests > 0, wrk.Output);
        Assert.True(haproxyProber.ConsecutiveFailures >= 2, $"HAProxy was answered {haproxyProber.ConsecutiveFailures} failures before the instance stopped.");
        if (wrk.Non2xx != 0 || wrk.SocketErrors != 0)
        {
            output.WriteLine(wrk.Output);
            output.WriteLine(haproxy.Output);
        }

        return (stopped, wrk);
    }
}

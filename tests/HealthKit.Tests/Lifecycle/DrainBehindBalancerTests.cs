// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Diagnostics;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// A deploy behind a real balancer: one of two instances is stopped under load. Behind HAProxy the drain alone gives
/// zero failed requests; nginx (open source) has no active checks and ignores readiness altogether.
/// </summary>
[Collection("balancer load")]
public sealed class DrainBehindBalancerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan StopAfter = TimeSpan.FromMilliseconds(500);
    private const int Clients = 4;

    [Fact]
    public async Task Haproxy_InstanceStoppedWithDrainUnderLoad_NoRequestFails()
    {
        // inter 300 × fall 2 = 0.6 s for HAProxy to notice, plus one interval and margin: 2 s.
        await using var a = await LifecycleApp.StartAsync("a", new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:02" });
        await using var b = await LifecycleApp.StartAsync("b");
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                balance roundrobin
                option httpchk GET /health
                server a 127.0.0.1:{a.Address.Port} check inter 300 fall 2 rise 2
                server b 127.0.0.1:{b.Address.Port} check inter 300 fall 2 rise 2
            """));
        await ServerHost.WaitUntilAsync(
            "both servers checked",
            async () => (await HaproxyStats.GetServerRowAsync(haproxy, "be", "a"))["check_status"] == "L7OK"
                && (await HaproxyStats.GetServerRowAsync(haproxy, "be", "b"))["check_status"] == "L7OK",
            Bound);

        var load = new LoadRun(haproxy.Address);
        var loading = load.RunAsync(Clients, LoadDuration);
        await Task.Delay(StopAfter);
        var stopRequested = Stopwatch.GetTimestamp();
        var stopping = a.App.StopAsync();
        var down = await HaproxyStats.TimeUntilStatusAsync(haproxy, "be", "a", "DOWN", Bound);
        await stopping.WaitAsync(Bound);
        var stopped = Stopwatch.GetElapsedTime(stopRequested);
        await loading;

        output.WriteLine($"{load.Total} requests through HAProxy by {Clients} clients in {LoadDuration.TotalSeconds:0} s; a stopped with Drain:Delay 2 s {StopAfter.TotalMilliseconds:0} ms in.");
        output.WriteLine($"served: {load.Describe()}");
        output.WriteLine($"HAProxy marked a DOWN {down.TotalMilliseconds:0} ms after the stop began; a's last response {load.LastFrom("a", stopRequested).TotalMilliseconds:0} ms after; the host stopped after {stopped.TotalMilliseconds:0} ms.");
        Assert.True(load.Failures.IsEmpty, $"Failed requests: {string.Join(", ", load.Failures.Select(f => $"{f.Key} × {f.Value}"))}. Served: {load.Describe()}\nHAProxy:\n{haproxy.Output}");
        Assert.True(load.Served("a") > 0 && load.Served("b") > 0, load.Describe());
        Assert.True(load.ServedAfter("b", stopRequested + Stopwatch.Frequency * 3) > 0, "b served nothing after a had stopped.");
    }

    /// <summary>
    /// nginx open source has only passive health checks: a drained instance (readiness 503) keeps its share of
    /// traffic, and nginx learns that an instance is gone from the first proxied request that fails to connect.
    /// </summary>
    [Fact]
    public async Task Nginx_Passive_IgnoresReadinessAndNoticesOnlyAFailedRequest()
    {
        await using var a = await LifecycleApp.StartAsync("a");
        await using var b = await LifecycleApp.StartAsync("b");
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

        a.Services.GetRequiredService<IDrainSwitch>().Drain();
        Assert.Equal(503, (await LifecycleApp.GetAsync(a, "/health")).Status);
        var whileDrained = await SendAsync(nginx, 10);
        output.WriteLine($"a drained (readiness 503): nginx sent {Count(whileDrained, "a")} of 10 requests to a, {Count(whileDrained, "b")} to b.");
        Assert.True(Count(whileDrained, "a") > 0, "nginx sent nothing to the drained instance.");

        await a.App.StopAsync();
        Assert.DoesNotContain("Connection refused", nginx.ErrorLog, StringComparison.Ordinal);
        var afterStop = await SendAsync(nginx, 10);
        output.WriteLine($"a stopped: {string.Join(", ", afterStop)}; nginx error log:\n{nginx.ErrorLog.Trim()}");

        // The GETs still succeed because nginx retries a refused connection on the next server
        // (proxy_next_upstream error); the failed attempt is how it learned.
        Assert.All(afterStop, r => Assert.Equal("200 b", r));
        Assert.Contains("Connection refused", nginx.ErrorLog, StringComparison.Ordinal);
    }

    private static async Task<List<string>> SendAsync(NginxServer nginx, int count)
    {
        var responses = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var response = await RawHttp.GetAsync(nginx.Address, "/", "localhost");
            responses.Add($"{response.Status} {response.Body}");
        }

        return responses;
    }

    private static int Count(List<string> responses, string server) => responses.Count(r => r == "200 " + server);

    /// <summary>Bounded load: a few HttpClient loops over keep-alive connections, every outcome counted.</summary>
    private sealed class LoadRun(Uri address)
    {
        private readonly ConcurrentQueue<(long At, string Server)> _served = new();

        public ConcurrentDictionary<string, int> Failures { get; } = new();

        public int Total => _served.Count + Failures.Values.Sum();

        public int Served(string server) => _served.Count(s => s.Server == server);

        public int ServedAfter(string server, long timestamp) => _served.Count(s => s.Server == server && s.At > timestamp);

        public TimeSpan LastFrom(string server, long since) =>
            Stopwatch.GetElapsedTime(since, _served.Where(s => s.Server == server).Select(s => s.At).DefaultIfEmpty(since).Max());

        public string Describe() => string.Join(", ", _served.GroupBy(s => s.Server).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))
            + $", failed {Failures.Values.Sum()}";

        public async Task RunAsync(int clients, TimeSpan duration)
        {
            using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false };
            using var client = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
            var start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                while (Stopwatch.GetElapsedTime(start) < duration)
                {
                    try
                    {
                        using var response = await client.GetAsync("/");
                        var body = await response.Content.ReadAsStringAsync();
                        if ((int)response.StatusCode == 200)
                        {
                            _served.Enqueue((Stopwatch.GetTimestamp(), body));
                        }
                        else
                        {
                            Failures.AddOrUpdate($"HTTP {(int)response.StatusCode}", 1, (_, n) => n + 1);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        Failures.AddOrUpdate(e.GetBaseException().Message, 1, (_, n) => n + 1);
                    }

                    // A few hundred requests a second per client: enough to hit every moment of the drain without
                    // starving the balancer's health checks on a small machine.
                    await Task.Delay(2);
                }
            })));
        }
    }
}

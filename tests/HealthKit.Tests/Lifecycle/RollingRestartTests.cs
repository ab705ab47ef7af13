// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// A rolling restart under wrk, through the balancer configurations users copy (samples/deploy/haproxy.cfg and
/// nginx.conf, loaded from the repository): two instances, each stopped in turn the way SIGTERM stops a host, and a
/// replacement started on the same port once it has exited. The next instance is restarted only when the balancer
/// sends traffic to the replacement again.
/// </summary>
[Collection("balancer load")]
public sealed partial class RollingRestartTests(ITestOutputHelper output)
{
    private const string Backend = "app";

    // samples/deploy/haproxy.cfg checks with inter 500 fall 2: HAProxy sees the drain's 503s within 1 s, plus the
    // check in flight; 2 s leaves one interval and some margin. The same delay is used behind nginx, for comparison.
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    // Before the first restart, so the figures include some undisturbed load.
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Haproxy_RollingRestartWithDrain_NoRequestFails()
    {
        var run = await RunHaproxyAsync(Drain, TimeSpan.FromSeconds(11));

        Assert.True(run.RestartsDone, $"The restarts outlasted wrk's run, so part of them saw no load: lengthen the run.\n{run}");
        Assert.True(run.Wrk.Requests > 0, run.ToString());
        Assert.True(run.Wrk.Non2xx == 0 && run.Wrk.SocketErrors == 0, $"Requests failed during a rolling restart with Drain:Delay {Drain.TotalSeconds:0} s.\n{run}");
        Assert.All(run.Replacements, r => Assert.True(r.Served > 0, $"HAProxy sent nothing to the replacement {r.Name}.\n{run}"));
    }

    /// <summary>
    /// The contrast: without a drain, HAProxy keeps sending requests to an instance until its checks have failed
    /// <c>fall</c> times. The failures are reported, not asserted: how many depends on timing.
    /// </summary>
    [Fact]
    public async Task Haproxy_RollingRestartWithoutDrain_CompletesAndReportsFailures()
    {
        var run = await RunHaproxyAsync(TimeSpan.Zero, TimeSpan.FromSeconds(8));

        Assert.True(run.Wrk.Requests > 0, run.ToString());
        Assert.All(run.Replacements, r => Assert.True(r.Served > 0, $"HAProxy sent nothing to the replacement {r.Name}.\n{run}"));
    }

    /// <summary>
    /// nginx open source ignores readiness: it takes an instance out when a request to it is refused, and retries that
    /// request on the other instance (<c>proxy_next_upstream error</c>). Marked failed, an instance gets nothing for
    /// <c>fail_timeout</c>, so the next instance is restarted only once the replacement serves again: otherwise both
    /// would be out at once.
    /// </summary>
    [Fact]
    public async Task Nginx_RollingRestartWithDrain_NoRequestFails()
    {
        var app1 = await Slot.StartAsync("app1", Drain);
        await using var _ = app1;
        var app2 = await Slot.StartAsync("app2", Drain);
        await using var __ = app2;
        await using var nginx = await NginxServer.StartAsync(port => DeploySamples.Load("nginx.conf", new Dictionary<string, string>
        {
            ["APP1"] = app1.Endpoint,
            ["APP2"] = app2.Endpoint,
            ["LISTEN"] = $"127.0.0.1:{port}",
        }));

        var run = await RunAsync(
            "nginx",
            nginx.Address,
            [app1, app2],
            TimeSpan.FromSeconds(12),
            untilOut: null,
            untilIn: async (slot, last) =>
            {
                // The last replacement is not waited for: nothing comes after it, and nginx tries it only after
                // fail_timeout.
                if (last)
                {
                    return null;
                }

                var start = Stopwatch.GetTimestamp();
                await ServerHost.WaitUntilAsync($"nginx to send requests to {slot.Current.Name}", () => Task.FromResult(slot.Current.Served > 0), Bound);
                return Stopwatch.GetElapsedTime(start);
            });
        var log = nginx.ErrorLog;
        int Count(string text) => log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));
        output.WriteLine($"nginx logged {Count("Connection refused")} refused connections, {Count("upstream prematurely closed")} connections closed by an instance "
            + $"and {Count("temporarily disabled")} times an instance disabled; each such request was passed to the other instance.");

        Assert.True(run.RestartsDone, $"The restarts outlasted wrk's run, so part of them saw no load: lengthen the run.\n{run}");
        Assert.True(run.Wrk.Requests > 0, run.ToString());
        Assert.True(run.Wrk.Non2xx == 0 && run.Wrk.SocketErrors == 0, $"Requests failed during a rolling restart through nginx.\n{run}\nnginx error log:\n{log}");
        Assert.True(run.Replacements[0].Served > 0, run.ToString());
    }

    private async Task<RunResult> RunHaproxyAsync(TimeSpan drain, TimeSpan duration)
    {
        var app1 = await Slot.StartAsync("app1", drain);
        await using var _ = app1;
        var app2 = await Slot.StartAsync("app2", drain);
        await using var __ = app2;
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => DeploySamples.Load("haproxy.cfg", new Dictionary<string, string>
        {
            ["APP1"] = app1.Endpoint,
            ["APP2"] = app2.Endpoint,
            ["LISTEN"] = $"127.0.0.1:{port}",
            ["STATS_SOCKET"] = socket,
        }));
        await ServerHost.WaitUntilAsync(
            "both servers UP on a passing check",
            async () => await IsUpAsync(haproxy, "app1") && await IsUpAsync(haproxy, "app2"),
            Bound);

        try
        {
            return await RunAsync(
                "HAProxy",
                haproxy.Address,
                [app1, app2],
                duration,
                untilOut: slot => HaproxyStats.TimeUntilStatusAsync(haproxy, Backend, slot.Name, "DOWN", Bound),
                untilIn: async (slot, _) =>
                {
                    // Exactly UP: a server coming back shows "DOWN 1/2" while it rises.
                    var start = Stopwatch.GetTimestamp();
                    await haproxy.WaitForServerStatusAsync(Backend, slot.Name, s => s == "UP", Bound);
                    return Stopwatch.GetElapsedTime(start);
                });
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{e.Message}\nHAProxy:\n{haproxy.Output}", e);
        }
    }

    private static async Task<bool> IsUpAsync(HaproxyServer haproxy, string server)
    {
        var row = await HaproxyStats.GetServerRowAsync(haproxy, Backend, server);
        return row["status"] == "UP" && row["check_status"] == "L7OK";
    }

    /// <summary>
    /// Runs wrk through the balancer and, meanwhile, restarts each slot in turn: stop, wait (when given) until the
    /// balancer has taken it out, wait for the exit, start the replacement on the same port, wait until the balancer
    /// sends it traffic again.
    /// </summary>
    private async Task<RunResult> RunAsync(
        string balancer,
        Uri address,
        Slot[] slots,
        TimeSpan duration,
        Func<Slot, Task<TimeSpan>>? untilOut,
        Func<Slot, bool, Task<TimeSpan?>> untilIn)
    {
        var drain = slots[0].Drain;
        var wrk = ServerProcess.Start(
            ServerHost.FindExecutable("wrk", "wrk"),
            ["-t2", "-c16", $"-d{duration.TotalSeconds:0}s", "--latency", address.ToString()],
            Path.GetTempPath());
        await using var __ = wrk;
        var wrkStarted = Stopwatch.GetTimestamp();
        var restarts = new List<string>();
        var replacements = new List<Instance>();
        await Task.Delay(Lead);

        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i];
            var began = Stopwatch.GetTimestamp();

            // What SIGTERM does: the host's StopAsync, draining first (HealthKit) and then stopping Kestrel.
            var stopping = StopAsync(slot.Current, began);
            TimeSpan? outAfter = untilOut is null ? null : await untilOut(slot);
            var exited = await stopping.WaitAsync(Bound);
            var lastServed = slot.Current.Served;
            await slot.ReplaceAsync();
            var replaced = Stopwatch.GetElapsedTime(began);
            var inAfter = await untilIn(slot, i == slots.Length - 1);
            replacements.Add(slot.Current);
            restarts.Add($"{slot.Name}: served {lastServed}; "
                + (outAfter is null ? string.Empty : $"{balancer} took it out {outAfter.Value.TotalMilliseconds:0} ms after the stop began; ")
                + $"exited after {exited.TotalMilliseconds:0} ms; replacement listening after {replaced.TotalMilliseconds:0} ms"
                + (inAfter is null ? "." : $", taking traffic {inAfter.Value.TotalMilliseconds:0} ms later."));
        }

        var restartsDone = Stopwatch.GetElapsedTime(wrkStarted) < duration;
        if (!await wrk.WaitForExitAsync(duration + Bound))
        {
            throw new TimeoutException($"wrk still ran {duration + Bound} after it started. Output:\n{wrk.Output}");
        }

        var result = new RunResult(balancer, drain, duration, WrkSummary.Parse(wrk.Output), restarts, replacements, restartsDone);
        output.WriteLine(result.ToString());
        return result;
    }

    private static async Task<TimeSpan> StopAsync(Instance instance, long began)
    {
        await instance.App.App.StopAsync();
        return Stopwatch.GetElapsedTime(began);
    }

    /// <summary>One instance of the app: HealthKit with the one line, and <c>GET /</c> answering its name and counting.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private long _served;

        private Instance(string name, KestrelApp app)
        {
            Name = name;
            App = app;
        }

        public string Name { get; }

        public KestrelApp App { get; }

        public long Served => Interlocked.Read(ref _served);

        public static async Task<Instance> StartAsync(string name, int port, TimeSpan drain)
        {
            Instance? instance = null;
            var app = await KestrelApp.StartAsync(
                builder =>
                {
                    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");

                    // Under wrk, collecting every request's debug logs would cost more than serving it.
                    builder.Logging.SetMinimumLevel(LogLevel.Warning);
                    builder.Services.AddDeployHealth();
                },
                app => app.MapGet("/", () =>
                {
                    Interlocked.Increment(ref instance!._served);
                    return Results.Text(name);
                }),
                new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = drain.ToString("c", CultureInfo.InvariantCulture) });
            instance = new Instance(name, app);
            return instance;
        }

        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    /// <summary>A place in the balancer's configuration (name and port) and the instance serving it now.</summary>
    private sealed class Slot : IAsyncDisposable
    {
        private int _generation = 1;

        private Slot(string name, int port, TimeSpan drain, Instance current)
        {
            Name = name;
            Port = port;
            Drain = drain;
            Current = current;
        }

        public string Name { get; }

        public int Port { get; }

        public TimeSpan Drain { get; }

        public string Endpoint => $"127.0.0.1:{Port}";

        public Instance Current { get; private set; }

        public static async Task<Slot> StartAsync(string name, TimeSpan drain)
        {
            var port = ServerHost.GetFreePort();
            return new Slot(name, port, drain, await Instance.StartAsync($"{name}.1", port, drain));
        }

        /// <summary>Disposes the stopped instance and starts the next one on the same port.</summary>
        public async Task ReplaceAsync()
        {
            await Current.DisposeAsync();
            Current = await Instance.StartAsync($"{Name}.{++_generation}", Port, Drain);
        }

        public ValueTask DisposeAsync() => Current.DisposeAsync();
    }

    private sealed record RunResult(
        string Balancer,
        TimeSpan Drain,
        TimeSpan Duration,
        WrkSummary Wrk,
        IReadOnlyList<string> Restarts,
        IReadOnlyList<Instance> Replacements,
        bool RestartsDone)
    {
        public override string ToString() =>
            $"{Balancer}, Drain:Delay {Drain.TotalSeconds:0} s, wrk -t2 -c16 -d{Duration.TotalSeconds:0}s: {Wrk.Requests} requests ({Wrk.RequestsPerSecond:0} req/s), "
            + $"{Wrk.Non2xx} non-2xx/3xx, socket errors {Wrk.SocketErrorsLine}; latency p50 {Wrk.P50}, p99 {Wrk.P99}.\n"
            + string.Join('\n', Restarts)
            + $"\nreplacements served: {string.Join(", ", Replacements.Select(r => $"{r.Name} {r.Served}"))}"
            + (RestartsDone ? string.Empty : "\nthe restarts outlasted the run")
            + $"\nwrk:\n{Wrk.Text}";
    }

    /// <summary>The figures of wrk's summary; a line wrk leaves out (no errors) counts zero.</summary>
    private sealed partial record WrkSummary(string Text, long Requests, double RequestsPerSecond, long Non2xx, long SocketErrors, string SocketErrorsLine, string P50, string P99)
    {
        public static WrkSummary Parse(string text)
        {
            var requests = RequestsLine().Match(text);
            if (!requests.Success)
            {
                throw new InvalidOperationException($"No summary in wrk's output:\n{text}");
            }

            var errors = SocketErrorsPattern().Match(text);
            var socketErrors = errors.Success
                ? Enumerable.Range(1, 4).Sum(i => long.Parse(errors.Groups[i].Value, CultureInfo.InvariantCulture))
                : 0;
            var non2xx = Non2xxLine().Match(text);
            return new WrkSummary(
                text,
                long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
                double.Parse(RequestsPerSecondLine().Match(text).Groups[1].Value, CultureInfo.InvariantCulture),
                non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
                socketErrors,
                errors.Success ? errors.Value.Trim() : "none",
                Percentile(text, "50%"),
                Percentile(text, "99%"));
        }

        private static string Percentile(string text, string name)
        {
            var line = text.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(name, StringComparison.Ordinal));
            return line is null ? "?" : line.Trim()[name.Length..].Trim();
        }

        [GeneratedRegex(@"(\d+) requests in")]
        private static partial Regex RequestsLine();

        [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
        private static partial Regex RequestsPerSecondLine();

        [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
        private static partial Regex Non2xxLine();

        [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
        private static partial Regex SocketErrorsPattern();
    }
}

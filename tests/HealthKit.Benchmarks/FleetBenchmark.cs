// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using HealthKit.Checks;
using HealthKit.Fleet;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>fleet [--exchanges 300] [--rounds 5]</c>, against a redis-server of its own (free loopback port, temp
/// directory, stopped by PID):
/// (1) what one exchange with the fleet board costs with 3 and with 100 instances on it (the others simulated by
/// boards of their own that publish the same kind of entry): wall time, round trips and bytes on the wire per
/// exchange from Redis's own counters (<c>INFO commandstats</c>, <c>INFO stats</c>), Redis's CPU time per exchange,
/// the entry's size, and what the client allocates per exchange (the board's read and the fleet picture built from it);
/// (2) how long after a fault the fleet reaches its decision: three real apps (Kestrel on 127.0.0.1, background
/// evaluation, HealthKit's defaults: CacheDuration 2 s, Fleet:Interval 2 s) with a Shared check the runner makes fail on
/// one instance (time until that one answers 503, the others staying 200) or on all three (time until each answers
/// 200 warn for the outage, none ever 503), and back. Readiness is sampled every 20 ms in process.
/// </summary>
public static class FleetBenchmark
{
    private static readonly TimeSpan Sample = TimeSpan.FromMilliseconds(20);

    public static async Task<int> RunAsync(string[] args)
    {
        var exchanges = RunnerSupport.Option(args, "--exchanges", 300);
        var rounds = RunnerSupport.Option(args, "--rounds", 5);
        await using var redis = await RedisProcess.StartAsync();
        Console.WriteLine($"redis-server {redis.Version} on 127.0.0.1:{redis.Port}; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine();
        Console.WriteLine("| instances on the board | ms / exchange (median) | p95 | round trips / exchange | bytes to Redis / exchange | bytes from Redis / exchange | one entry (JSON bytes) | Redis CPU µs / exchange | allocated / exchange |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var instances in new[] { 3, 100 })
        {
            await BoardCostAsync(redis, instances, exchanges);
        }

        Console.WriteLine();
        await DecisionTimeAsync(redis, rounds);
        return 0;
    }

    private static async Task BoardCostAsync(RedisProcess redis, int instances, int exchanges)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var services = new ServiceCollection().AddSingleton<IConnectionMultiplexer>(connection).BuildServiceProvider();
        var source = new RedisConnectionSource(services);
        var options = Options.Create(new DeployHealthOptions { Fleet = { Enabled = true, Name = "bench-" + instances.ToString(CultureInfo.InvariantCulture) } });
        var environment = new BenchEnvironment();
        var boards = new List<(FleetBoard Board, FleetEntry Entry)>(instances);
        for (var i = 0; i < instances; i++)
        {
            boards.Add((new FleetBoard(source, options, environment), Entry(i)));
        }

        // Every simulated instance publishes once, then again before entries could age out (10 s), unmeasured.
        async Task PublishOthersAsync()
        {
            for (var i = 1; i < boards.Count; i++)
            {
                boards[i].Entry.Sequence++;
                await boards[i].Board.ExchangeAsync(boards[i].Entry, CancellationToken.None);
            }
        }

        await PublishOthersAsync();
        var (self, entry) = boards[0];
        FleetPicture? picture = null;
        for (var i = 0; i < 20; i++)
        {
            picture = new FleetPicture(entry.Id, await self.ExchangeAsync(entry, CancellationToken.None), 0, DateTimeOffset.UnixEpoch, picture);
        }

        // Measured in chunks of at most 100 exchanges, Redis's counters read around each chunk, the simulated others
        // republishing between chunks (unmeasured) so that no entry ages out.
        var times = new List<double>(exchanges);
        long calls = 0, usec = 0, toRedis = 0, fromRedis = 0, allocated = 0;
        while (times.Count < exchanges)
        {
            await PublishOthersAsync();
            var chunk = Math.Min(100, exchanges - times.Count);
            var before = await redis.CountersAsync();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < chunk; i++)
            {
                entry.Sequence++;
                var started = Stopwatch.GetTimestamp();
                var read = await self.ExchangeAsync(entry, CancellationToken.None);
                picture = new FleetPicture(entry.Id, read, 0, DateTimeOffset.UnixEpoch, picture);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            allocated += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var after = await redis.CountersAsync();
            calls += after.Scripts - before.Scripts;
            usec += after.ScriptUsec - before.ScriptUsec;

            // Redis counts the second INFO's request as input, and the first INFO's reply as output, within the chunk.
            toRedis += after.NetInput - before.NetInput - Counters.InfoRequestBytes;
            fromRedis += after.NetOutput - before.NetOutput - before.InfoReplyBytes;
        }

        if (picture!.Live != instances)
        {
            throw new InvalidOperationException($"The board showed {picture.Live} instances, not {instances}.");
        }

        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(entry, FleetJsonContext.Default.FleetEntry).Length;
        times.Sort();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {instances} | {Percentile(times, 0.5):0.000} | {Percentile(times, 0.95):0.000} | {(double)calls / exchanges:0.00} | {toRedis / exchanges:0} | {fromRedis / exchanges:0} | {json} | {(double)usec / exchanges:0.0} | {allocated / exchanges:0} B |"));
        await source.DisposeAsync();
        await services.DisposeAsync();
    }

    private static async Task DecisionTimeAsync(RedisProcess redis, int rounds)
    {
        var toggles = new[] { new Toggle(), new Toggle(), new Toggle() };
        var apps = new List<WebApplication>();
        foreach (var toggle in toggles)
        {
            apps.Add(await StartAppAsync(redis.Port, toggle));
        }

        var verdicts = apps.Select(a => a.Services.GetRequiredService<HealthVerdict>()).ToArray();
        await WaitAsync(() => verdicts.All(v => v.Readiness().Status == HealthStatus.Healthy), TimeSpan.FromSeconds(60), "all three ready");
        var aloneOut = new List<double>();
        var aloneBack = new List<double>();
        var outageWarn = new List<double>();
        var outageBack = new List<double>();
        var othersDown = 0;
        var outageDown = 0;
        for (var round = 0; round < rounds; round++)
        {
            // One instance alone fails the Shared check: the fleet confirms it alone, it leaves; the others stay.
            var started = Stopwatch.GetTimestamp();
            toggles[2].Failing = true;
            while (verdicts[2].Readiness().Status != HealthStatus.Unhealthy)
            {
                othersDown += verdicts[0].Readiness().IsUp && verdicts[1].Readiness().IsUp ? 0 : 1;
                await Tick(started, "instance 2 to leave");
            }

            aloneOut.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            started = Stopwatch.GetTimestamp();
            toggles[2].Failing = false;
            while (verdicts[2].Readiness().Status != HealthStatus.Healthy)
            {
                await Tick(started, "instance 2 to return");
            }

            aloneBack.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);

            // All three fail it: each stays in with 200 warn for the outage; none ever answers 503, there or back.
            started = Stopwatch.GetTimestamp();
            foreach (var toggle in toggles)
            {
                toggle.Failing = true;
            }

            while (!verdicts.All(v => v.Readiness() is { Status: HealthStatus.Degraded, Reason: { } reason } && reason.StartsWith("fleet-wide outage", StringComparison.Ordinal)))
            {
                outageDown += verdicts.Count(v => !v.Readiness().IsUp);
                await Tick(started, "the outage on all three");
            }

            outageWarn.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            started = Stopwatch.GetTimestamp();
            foreach (var toggle in toggles)
            {
                toggle.Failing = false;
            }

            while (!verdicts.All(v => v.Readiness().Status == HealthStatus.Healthy))
            {
                outageDown += verdicts.Count(v => !v.Readiness().IsUp);
                await Tick(started, "all three to pass");
            }

            outageBack.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        foreach (var app in apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Console.WriteLine($"Decision after a fault, 3 instances, HealthKit's defaults (CacheDuration 2 s, Fleet:Interval 2 s, background evaluation), {rounds} rounds, sampled every {Sample.TotalMilliseconds:0} ms:");
        Console.WriteLine();
        Console.WriteLine("| fault | decision | median s | min s | max s |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        Row("one instance fails a Shared check", "that instance answers 503 (the fleet confirmed it alone)", aloneOut);
        Row("its check passes again", "it answers 200", aloneBack);
        Row("all three fail it", "each answers 200 warn, fleet-wide outage", outageWarn);
        Row("it passes again on all three", "each answers 200", outageBack);
        Console.WriteLine();
        Console.WriteLine($"Samples at which another instance answered 503 while one alone failed: {othersDown}; samples with any 503 during or after the outage: {outageDown}.");
    }

    private static void Row(string fault, string decision, List<double> seconds)
    {
        var sorted = seconds.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {fault} | {decision} | {Percentile(sorted, 0.5):0.00} | {sorted[0]:0.00} | {sorted[^1]:0.00} |"));
    }

    private static async Task Tick(long started, string what)
    {
        if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(60))
        {
            throw new TimeoutException($"No decision within 60 s: waited for {what}.");
        }

        await Task.Delay(Sample);
    }

    private static async Task<WebApplication> StartAppAsync(int redisPort, Toggle toggle)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ApplicationName = "fleet-bench" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DeployHealth:Fleet:Enabled"] = "true",
            ["DeployHealth:Fleet:Name"] = "fleet-bench-decision",
            ["DeployHealth:Fleet:Redis"] = $"127.0.0.1:{redisPort}",
            ["DeployHealth:BackgroundEvaluation"] = "true",
            ["DeployHealth:Checks:dependency:Scope"] = "Shared",
        });
        builder.Services.AddDeployHealth().AddCheck("dependency", () => toggle.Failing ? HealthCheckResult.Unhealthy("down") : HealthCheckResult.Healthy());
        var app = builder.Build();
        await app.StartAsync();
        return app;
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Not {what} within {limit.TotalSeconds:0} s.");
            }

            await Task.Delay(Sample);
        }
    }

    /// <summary>An entry as a real instance publishes it: seven checks (two Shared), two addresses, a key ring of two keys.</summary>
    private static FleetEntry Entry(int i) => new()
    {
        Id = Guid.NewGuid().ToString("N")[..16],
        Host = "app-host-" + i.ToString("000", CultureInfo.InvariantCulture),
        ProcessId = 1000 + i,
        Addresses = [$"10.0.{i / 250}.{i % 250}:8080", "[fd00::" + i.ToString("x", CultureInfo.InvariantCulture) + "]:8080"],
        Build = "1.4.2+9f1c2ab (3e5a7c10)",
        Ready = "pass",
        Checks = new Dictionary<string, string>
        {
            ["postgres"] = "PS", ["redis"] = "PS", ["data_protection"] = "PL", ["forwarded_headers"] = "PL",
            ["certificates"] = "PL", ["fleet"] = "PL", ["smoke /"] = "PL",
        },
        Discriminator = "9c2f6b1e0d4a7388",
        DefaultKey = "5b3e8f0c-6a1d-4e27-9b44-0c1f2a3d4e5f",
        Keys = ["5b3e8f0c-6a1d-4e27-9b44-0c1f2a3d4e5f", "0e7d6c5b-4a39-4281-8f7e-6d5c4b3a2910"],
        Configuration = "a1b2c3d4e5f60718",
        Clock = 0,
        EvaluationFloor = 0,
    };

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(p * sorted.Count))];

    private sealed class Toggle
    {
        public volatile bool Failing;
    }

    private sealed class BenchEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";

        public string ApplicationName { get; set; } = "fleet-bench";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }

    /// <summary>A redis-server of the runner's own: free loopback port, no persistence, temp directory, stopped by PID.</summary>
    private sealed class RedisProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;
        private readonly ConnectionMultiplexer _admin;

        private RedisProcess(Process process, string directory, int port, ConnectionMultiplexer admin, string version)
        {
            _process = process;
            _directory = directory;
            Port = port;
            _admin = admin;
            Version = version;
        }

        public int Port { get; }

        public string Version { get; }

        public static async Task<RedisProcess> StartAsync()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var directory = Directory.CreateTempSubdirectory("hk-fleet-bench-").FullName;
            var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var argument in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", directory })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
            process.OutputDataReceived += static (_, _) => { };
            process.BeginOutputReadLine();
            var deadline = Stopwatch.GetTimestamp();
            while (true)
            {
                try
                {
                    var admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true");
                    var server = admin.GetServer("127.0.0.1", port);
                    return new RedisProcess(process, directory, port, admin, server.Version.ToString());
                }
                catch (RedisConnectionException) when (Stopwatch.GetElapsedTime(deadline) < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(100);
                }
            }
        }

        /// <summary>Redis's counters: script calls and their CPU time, bytes in and out, and what reading them cost.</summary>
        public async Task<Counters> CountersAsync()
        {
            var server = _admin.GetServer("127.0.0.1", Port);
            var info = await server.InfoRawAsync("all") ?? string.Empty;
            long Stat(string name)
            {
                foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
                {
                    if (line.StartsWith(name + ":", StringComparison.Ordinal))
                    {
                        return long.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
                    }
                }

                return 0;
            }

            (long Calls, long Usec) Command(string name)
            {
                foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
                {
                    if (line.StartsWith("cmdstat_" + name + ":", StringComparison.Ordinal))
                    {
                        var fields = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',')
                            .Select(f => f.Split('='))
                            .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
                        return (long.Parse(fields["calls"], CultureInfo.InvariantCulture), long.Parse(fields["usec"], CultureInfo.InvariantCulture));
                    }
                }

                return (0, 0);
            }

            var eval = Command("eval");
            var evalsha = Command("evalsha");

            // The reply's length as sent: the bulk string's header ($ and the length, CRLF), the text, CRLF.
            return new Counters(eval.Calls + evalsha.Calls, eval.Usec + evalsha.Usec, Stat("total_net_input_bytes"), Stat("total_net_output_bytes"), info.Length + info.Length.ToString(CultureInfo.InvariantCulture).Length + 5);
        }

        public async ValueTask DisposeAsync()
        {
            await _admin.DisposeAsync();
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    private sealed record Counters(long Scripts, long ScriptUsec, long NetInput, long NetOutput, long InfoReplyBytes)
    {
        /// <summary>The INFO request as RESP: <c>*2\r\n$4\r\nINFO\r\n$3\r\nall\r\n</c>.</summary>
        public const long InfoRequestBytes = 23;
    }
}

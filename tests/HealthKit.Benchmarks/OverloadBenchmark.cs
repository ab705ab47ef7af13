// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>overload [--clients 200] [--load-seconds 30] [--recovery-seconds 25] [--kinds idle,block,burn]</c>: probes of an
/// overloaded app, measured from outside it. Starts tests/HealthKit.TestBusyApp (the app of the starvation test) as
/// its own process with <c>DeployHealth:ProbeListener:Port</c> on 127.0.0.1 and the default overload threshold, then for each
/// kind of load, in the same process: <c>--clients</c> concurrent clients loop on <c>/block?ms=2000</c> (a request that
/// holds its pool thread, Thread.Sleep) or <c>/burn?ms=2000</c> (one that spins on the CPU) for <c>--load-seconds</c>,
/// then stop, abandoning their requests (what the app has already read still runs to its end); <c>idle</c> measures
/// the same time without load (does readiness stay 200 on a busy machine?). Throughout, one prober per target sends a
/// request every 100 ms, answered or not (as a kubelet probes each period), each on a new connection with a 10 s
/// timeout: the probe port's <c>/health/live</c>, the main port's <c>/health/live</c>, a bare <c>MapGet</c>
/// (<c>/ping</c>) on the main port, and the probe port's <c>/health/ready</c> (whose document, given to loopback
/// callers, says why). Reports, as markdown, latency p50/p99/max, failures (no 200 within 10 s) and answers over 1 s
/// (Kubernetes' default probe timeout) during the load; the time from the start of the load to readiness saying
/// overloaded; from its end to the main port answering a bare request within 250 ms again (the pool has caught up)
/// and to readiness 200 again. Loopback only; bounded in time and count; the app is stopped by PID.
/// </summary>
public static class OverloadBenchmark
{
    private const string AppMetadataKey = "HealthKit.TestBusyApp";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        var clients = int.Parse(RunnerSupport.Option(args, "--clients") ?? "200", CultureInfo.InvariantCulture);
        var load = TimeSpan.FromSeconds(int.Parse(RunnerSupport.Option(args, "--load-seconds") ?? "30", CultureInfo.InvariantCulture));
        var recovery = TimeSpan.FromSeconds(int.Parse(RunnerSupport.Option(args, "--recovery-seconds") ?? "25", CultureInfo.InvariantCulture));
        var kinds = (RunnerSupport.Option(args, "--kinds") ?? "idle,block,burn").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (clients is < 1 or > 1000 || load > TimeSpan.FromSeconds(60) || recovery > TimeSpan.FromSeconds(60))
        {
            await Console.Error.WriteLineAsync("--clients from 1 to 1000, --load-seconds and --recovery-seconds at most 60: this is a bounded load on a shared machine.");
            return 2;
        }

        var mainPort = RunnerSupport.FreePort();
        var probePort = RunnerSupport.FreePort();
        using var app = StartApp(mainPort, probePort);
        var output = new StringBuilder();
        app.OutputDataReceived += (_, e) => Keep(output, e.Data);
        app.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        app.BeginOutputReadLine();
        app.BeginErrorReadLine();
        try
        {
            var main = new IPEndPoint(IPAddress.Loopback, mainPort);
            var probes = new IPEndPoint(IPAddress.Loopback, probePort);
            await WaitForReadyAsync(app, probes, output, StartBound);

            // Warm-up: JIT and tiered compilation of every path measured, so the first probes of a run do not count it.
            for (var i = 0; i < 50; i++)
            {
                await ProbeAsync(probes, "/health/live");
                await ProbeAsync(main, "/health/live");
                await ProbeAsync(main, "/ping");
                await ProbeAsync(probes, "/health/ready");
            }

            Console.WriteLine($"# overload: {clients} clients, {load.TotalSeconds:0} s of load, then up to {recovery.TotalSeconds:0} s of recovery; probers every {ProbeInterval.TotalMilliseconds:0} ms, timeout {ProbeTimeout.TotalSeconds:0} s");
            Console.WriteLine($"# load average at start: {LoadAverage()}; {Environment.ProcessorCount} cores");
            foreach (var kind in kinds)
            {
                var path = kind switch
                {
                    "idle" => null,
                    "block" => "/block?ms=2000",
                    "burn" => "/burn?ms=2000",
                    _ => throw new ArgumentException($"unknown kind '{kind}': block or burn", nameof(args)),
                };
                var run = await RunOnceAsync(main, probes, path, clients, load, recovery);
                Print(kind, path, clients, run);
                await WaitForReadyAsync(app, probes, output, StartBound);
            }

            Console.WriteLine($"# load average at the end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            Stop(app);
        }
    }

    private static async Task<Run> RunOnceAsync(IPEndPoint main, IPEndPoint probes, string? path, int clients, TimeSpan load, TimeSpan recovery)
    {
        var clock = Stopwatch.StartNew();
        using var stopLoad = new CancellationTokenSource();
        using var stopProbers = new CancellationTokenSource();
        var probeLive = new Prober(probes, "/health/live");
        var mainLive = new Prober(main, "/health/live");
        var mainPing = new Prober(main, "/ping");
        var ready = new Prober(probes, "/health/ready");
        var probers = new[] { probeLive, mainLive, mainPing, ready }.Select(p => p.RunAsync(clock, stopProbers.Token)).ToArray();

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var target = new Uri($"http://{main}{path}");
        var sent = 0;
        var completed = 0;
        var loadStart = clock.Elapsed;
        var loaders = Enumerable.Range(0, path is null ? 0 : clients).Select(_ => Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                Interlocked.Increment(ref sent);
                try
                {
                    using var response = await http.GetAsync(target, stopLoad.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref completed);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    // Counted as sent, not completed.
                }
            }
        })).ToArray();

        await Task.Delay(load).ConfigureAwait(false);
        await stopLoad.CancelAsync().ConfigureAwait(false);
        var loadEnd = clock.Elapsed;
        await Task.WhenAll(loaders).ConfigureAwait(false);

        // Recovery: until readiness has answered 200 for two seconds in a row after the load, bounded.
        while (clock.Elapsed - loadEnd < recovery && !ready.HealthySince(loadEnd, TimeSpan.FromSeconds(2)))
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        await stopProbers.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(probers).ConfigureAwait(false);
        return new Run(loadStart, loadEnd, sent, completed, probeLive, mainLive, mainPing, ready);
    }

    private static void Print(string kind, string? path, int clients, Run run)
    {
        Console.WriteLine();
        Console.WriteLine(path is null
            ? $"## {kind}: no load for {(run.LoadEnd - run.LoadStart).TotalSeconds:0.0} s"
            : $"## {kind}: {clients} clients on {path} for {(run.LoadEnd - run.LoadStart).TotalSeconds:0.0} s ({run.Sent} requests sent, {run.Completed} answered during the load)");
        Console.WriteLine();
        Console.WriteLine("| during the load | probes | p50 ms | p99 ms | max ms | failed (no 200 in 10 s) | over 1 s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, prober) in new[] { ("probe port /health/live", run.ProbeLive), ("main port /health/live", run.MainLive), ("main port /ping (bare MapGet)", run.MainPing) })
        {
            var samples = prober.Between(run.LoadStart, run.LoadEnd);
            var latencies = samples.Select(s => s.Latency.TotalMilliseconds).Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {samples.Count} | {Percentile(latencies, 0.50):0.0} | {Percentile(latencies, 0.99):0.0} | {(latencies.Length == 0 ? 0 : latencies[^1]):0.0} | {samples.Count(s => s.Status != 200)} | {samples.Count(s => s.Latency > TimeSpan.FromSeconds(1))} |"));
        }

        var overloaded = run.Ready.FirstAfter(run.LoadStart, s => s.Status == 503 && s.Overloaded);
        var recovered = run.Ready.FirstAfter(run.LoadEnd, s => s.Status == 200);

        // Stopping the clients does not end the starvation: requests the app has read run to their end (a blocked
        // handler does not look at RequestAborted). The pool has caught up when a bare request is answered at once.
        var caughtUp = run.MainPing.FirstAfter(run.LoadEnd, s => s.Status == 200 && s.Latency < TimeSpan.FromMilliseconds(250));
        var readyDuringLoad = run.Ready.Between(run.LoadStart, run.LoadEnd);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"readiness on the probe port: overloaded {(overloaded is null ? "never" : $"{(overloaded.SentAt - run.LoadStart).TotalSeconds:0.0} s after the load started")}; 200 again {(recovered is null ? "not within the recovery bound" : $"{(recovered.SentAt - run.LoadEnd).TotalSeconds:0.0} s after it stopped")}; during the load {readyDuringLoad.Count(s => s.Status == 503)} of {readyDuringLoad.Count} answers were 503, {readyDuringLoad.Count(s => s.Status == 0)} got no answer"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"main port caught up (first /ping answered within 250 ms): {(caughtUp is null ? "not within the recovery bound" : $"{(caughtUp.SentAt - run.LoadEnd).TotalSeconds:0.0} s after the load stopped")}; readiness 200 {(caughtUp is null || recovered is null ? "-" : $"{(recovered.SentAt - caughtUp.SentAt).TotalSeconds:0.0} s after that")}"));
        if (overloaded is not null)
        {
            Console.WriteLine($"first overloaded note: {overloaded.Note}");
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static Process StartApp(int mainPort, int probePort)
    {
        var path = typeof(OverloadBenchmark).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == AppMetadataKey)?.Value;
        if (path is null || !File.Exists(path))
        {
            throw new InvalidOperationException($"The build output '{path}' of {AppMetadataKey} does not exist: build HealthKit.Benchmarks.csproj, which builds it.");
        }

        var info = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet",
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(path)!,
        };
        info.ArgumentList.Add(path);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{mainPort}");
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DeployHealth__ProbeListener__Port"] = probePort.ToString(CultureInfo.InvariantCulture);
        info.Environment["DeployHealth__ProbeListener__Address"] = "127.0.0.1";
        info.Environment["DeployHealth__ProbeListener__DetailsForLoopback"] = "true";
        info.Environment["DeployHealth__Drain__Delay"] = "00:00:00";

        // Per-request logs would measure the console; HealthKit's own warnings (event 240) stay.
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }

    private static void Stop(Process app)
    {
        if (app.HasExited)
        {
            return;
        }

        app.Kill(entireProcessTree: true);
        app.WaitForExit(10_000);
    }

    private static async Task WaitForReadyAsync(Process app, IPEndPoint probes, StringBuilder output, TimeSpan bound)
    {
        var start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < bound)
        {
            if (app.HasExited)
            {
                throw new InvalidOperationException($"The app exited with {app.ExitCode}:\n{output}");
            }

            if ((await ProbeAsync(probes, "/health/ready").ConfigureAwait(false)).Status == 200)
            {
                return;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        throw new TimeoutException($"Readiness on the probe port was not 200 within {bound.TotalSeconds:0} s:\n{output}");
    }

    /// <summary>One request on a new connection, as a prober sends it; status 0 when no answer came within the timeout.</summary>
    private static async Task<(int Status, string Body)> ProbeAsync(IPEndPoint endpoint, string path)
    {
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{endpoint.Port}\r\nUser-Agent: kube-probe/1.31\r\nConnection: close\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            using var received = new MemoryStream();
            var buffer = new byte[4096];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                received.Write(buffer, 0, read);
            }

            var text = Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
            var status = text.Length >= 12 && text.StartsWith("HTTP/1.", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;
            var bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return (status, bodyStart < 0 ? string.Empty : text[(bodyStart + 4)..]);
        }
        catch (OperationCanceledException)
        {
            return (0, "timeout");
        }
        catch (SocketException exception)
        {
            return (0, exception.SocketErrorCode.ToString());
        }
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static void Keep(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private sealed record Run(TimeSpan LoadStart, TimeSpan LoadEnd, int Sent, int Completed, Prober ProbeLive, Prober MainLive, Prober MainPing, Prober Ready);

    private sealed record Sample(TimeSpan SentAt, TimeSpan Latency, int Status, bool Overloaded, string? Note);

    /// <summary>
    /// One request to one target every <see cref="ProbeInterval"/>, each on its own connection with its own timeout,
    /// whether the last one has answered or not: a kubelet sends a probe each period the same way. At most 100 wait at
    /// once (the timeout at this rate), so the prober is bounded too.
    /// </summary>
    private sealed class Prober(IPEndPoint endpoint, string path)
    {
        private readonly List<Sample> _samples = [];

        public async Task RunAsync(Stopwatch clock, CancellationToken stopping)
        {
            var pending = new List<Task>();
            using var gate = new SemaphoreSlim(100);
            while (!stopping.IsCancellationRequested)
            {
                var next = clock.Elapsed + ProbeInterval;
                if (gate.Wait(0))
                {
                    pending.Add(Task.Run(
                        async () =>
                        {
                            try
                            {
                                await SampleAsync(clock).ConfigureAwait(false);
                            }
                            finally
                            {
                                gate.Release();
                            }
                        },
                        CancellationToken.None));
                }

                pending.RemoveAll(t => t.IsCompleted);
                var wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            await Task.WhenAll(pending).ConfigureAwait(false);
        }

        /// <summary>The samples sent from <paramref name="from"/> up to <paramref name="to"/>.</summary>
        public List<Sample> Between(TimeSpan from, TimeSpan to)
        {
            lock (_samples)
            {
                return _samples.Where(s => s.SentAt >= from && s.SentAt < to).ToList();
            }
        }

        private async Task SampleAsync(Stopwatch clock)
        {
            var sentAt = clock.Elapsed;
            var (status, body) = await ProbeAsync(endpoint, path).ConfigureAwait(false);
            var latency = clock.Elapsed - sentAt;
            var overloaded = body.Contains("overloaded: thread pool starved", StringComparison.Ordinal);
            lock (_samples)
            {
                _samples.Add(new Sample(sentAt, latency, status, overloaded, overloaded ? Note(body) : null));
            }
        }

        public Sample? FirstAfter(TimeSpan from, Func<Sample, bool> match)
        {
            lock (_samples)
            {
                return _samples.Where(s => s.SentAt >= from && match(s)).MinBy(s => s.SentAt);
            }
        }

        /// <summary>Whether every answer sent after <paramref name="from"/> in the last <paramref name="span"/> was 200 (and there was one).</summary>
        public bool HealthySince(TimeSpan from, TimeSpan span)
        {
            lock (_samples)
            {
                var after = _samples.Where(s => s.SentAt >= from).OrderBy(s => s.SentAt).ToList();
                if (after.Count == 0 || after[^1].SentAt - span < from)
                {
                    return false;
                }

                var last = after[^1].SentAt;
                return after.Where(s => s.SentAt >= last - span).All(s => s.Status == 200);
            }
        }

        private static string Note(string body)
        {
            var start = body.IndexOf("overloaded: ", StringComparison.Ordinal);
            var end = body.IndexOf('"', start);
            return end < 0 ? body[start..] : body[start..end];
        }
    }
}

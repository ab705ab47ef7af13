// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>startup [--rounds 12] [--templates web,webapp,auth] [--work DIR] [--keep] [--baseline CHECKOUT]</c>: what HealthKit costs an app's
/// start. Packs src/HealthKit into a folder feed under a version no earlier run used (as the install test does),
/// creates fresh <c>dotnet new web</c>, <c>webapp</c> and <c>webapp --auth Individual</c> apps twice, one with the
/// README's line and the package, one without, publishes all of them (Release), then starts each published app as its
/// own process, round after round, the two copies of a template one right after the other (odd rounds plain first,
/// even rounds HealthKit first). Per start, from exec: the wall time and the process's CPU time (utime + stime from
/// /proc, 10 ms ticks) at the first 200 on <c>/</c>, its RSS then, the assemblies mapped then (from /proc/PID/maps),
/// and for HealthKit the first 200 on <c>/health/live</c> and on <c>/health</c> (polled only after <c>/</c> answered,
/// so the plain app and the HealthKit app get the same requests until then). Ratios are taken within a round and the
/// median over rounds is reported, as markdown. Then, for each HealthKit app, <c>--readiness-rounds</c> more starts
/// (default 4) with HealthKit's probe listener on loopback and <c>ProbeListener:DetailsForLoopback</c> on: the first readiness answer's
/// document gives each check's duration in the evaluation readiness was first answered from, set against its
/// deadline, and the console gives the warm-up's end (event 130). Those starts are kept apart from the ratio rounds,
/// which run the README's configuration only. Everything listens on 127.0.0.1 only; every app is killed by PID.
/// </summary>
public static class StartupBenchmark
{
    private const string AppName = "StartupApp";
    private const string BaselineSuffix = "-baseline";
    private const string BuilderLine = "var builder = WebApplication.CreateBuilder(args);";
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReadyBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = int.Parse(RunnerSupport.Option(args, "--rounds") ?? "12", CultureInfo.InvariantCulture);
        var readinessRounds = int.Parse(RunnerSupport.Option(args, "--readiness-rounds") ?? "4", CultureInfo.InvariantCulture);
        var templates = (RunnerSupport.Option(args, "--templates") ?? "web,webapp,auth").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var keep = args.Contains("--keep");
        var baseline = RunnerSupport.Option(args, "--baseline");
        var root = FindRepositoryRoot();
        var work = RunnerSupport.Option(args, "--work") ?? Path.Combine(Path.GetTempPath(), $"healthkit-startup-{Environment.ProcessId}");
        Directory.CreateDirectory(work);

        // Directory.Build.props, .targets and Directory.Packages.props are looked up through every parent folder:
        // empty ones keep whatever lies above the work folder out of the generated apps.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            await File.WriteAllTextAsync(Path.Combine(work, name), "<Project />\n");
        }

        try
        {
            var version = $"0.1.0-startup.{DateTime.UtcNow.Ticks}";
            var feed = Path.Combine(work, "feed");
            Console.Error.WriteLine($"packing HealthKit {version} into {feed}");
            await RunAsync(work, "dotnet", "pack", Path.Combine(root, "src", "HealthKit", "HealthKit.csproj"), "-c", "Release", "-o", feed,
                "--artifacts-path", Path.Combine(work, "artifacts"), $"-p:Version={version}");

            // --baseline: a second checkout (another commit) packed under its own version, measured in the same
            // rounds as a template of its own ("web-baseline"), so before and after share the machine's load.
            var baselineVersion = version.Replace("startup", "startupbase", StringComparison.Ordinal);
            if (baseline is not null)
            {
                Console.Error.WriteLine($"packing the baseline {baseline} as HealthKit {baselineVersion}");
                await RunAsync(work, "dotnet", "pack", Path.Combine(baseline, "src", "HealthKit", "HealthKit.csproj"), "-c", "Release", "-o", feed,
                    "--artifacts-path", Path.Combine(work, "artifacts-base"), $"-p:Version={baselineVersion}");
            }

            var apps = new List<(string Template, Published Plain, Published HealthKit)>();
            foreach (var template in templates)
            {
                var plain = await CreateAsync(work, template, healthKit: false, feed, version);
                var withHealthKit = await CreateAsync(work, template, healthKit: true, feed, version);
                if (baseline is not null)
                {
                    apps.Add((template + BaselineSuffix, plain, await CreateAsync(work, template + BaselineSuffix, healthKit: true, feed, baselineVersion)));
                }

                apps.Add((template, plain, withHealthKit));
            }

            var results = new Dictionary<(string Template, bool HealthKit), List<Start>>();
            foreach (var (template, _, _) in apps)
            {
                results[(template, false)] = [];
                results[(template, true)] = [];
            }

            var began = Stopwatch.GetTimestamp();
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (template, plain, withHealthKit) in apps)
                {
                    var order = round % 2 == 1 ? new[] { plain, withHealthKit } : [withHealthKit, plain];
                    foreach (var app in order)
                    {
                        var start = await MeasureAsync(app);
                        results[(template, app.HealthKit)].Add(start);
                        Console.Error.WriteLine($"round {round} {template} {(app.HealthKit ? "healthkit" : "plain")}: {start}");
                    }
                }
            }

            var readiness = new Dictionary<string, List<FirstReadiness>>();
            for (var round = 1; round <= readinessRounds; round++)
            {
                foreach (var (template, _, withHealthKit) in apps)
                {
                    var first = await MeasureReadinessAsync(withHealthKit);
                    (readiness.TryGetValue(template, out var list) ? list : readiness[template] = []).Add(first);
                    Console.Error.WriteLine($"readiness {round} {template}: {first}");
                }
            }

            Report(apps, results, rounds, Stopwatch.GetElapsedTime(began));
            ReportReadiness(apps, readiness);
            return 0;
        }
        catch (Exception exception)
        {
            Console.Error.WriteLine(exception);
            return 1;
        }
        finally
        {
            if (!keep)
            {
                try
                {
                    Directory.Delete(work, recursive: true);
                }
                catch (IOException exception)
                {
                    Console.Error.WriteLine($"{work} was not removed: {exception.Message}");
                }
            }
        }
    }

    private static async Task<Published> CreateAsync(string work, string template, bool healthKit, string feed, string version)
    {
        var name = $"{template}-{(healthKit ? "healthkit" : "plain")}";
        var directory = Path.Combine(work, name);
        var output = Path.Combine(work, "publish", name);
        if (!healthKit && File.Exists(Path.Combine(output, $"{AppName}.dll")))
        {
            // --work and --keep from an earlier run: the plain apps do not change with HealthKit's source.
            return new Published(template, healthKit, output, DirectorySize(output));
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        string[] arguments = template.Replace(BaselineSuffix, string.Empty, StringComparison.Ordinal) switch
        {
            "web" => ["new", "web"],
            "webapp" => ["new", "webapp"],
            "auth" => ["new", "webapp", "--auth", "Individual"],
            _ => throw new ArgumentException($"Unknown template '{template}': web, webapp or auth.", nameof(template)),
        };
        await RunAsync(work, "dotnet", [.. arguments, "-n", AppName, "-o", directory, "--no-restore"]);
        var project = Path.Combine(directory, $"{AppName}.csproj");
        if (healthKit)
        {
            // Only adds the feed: the machine's own sources still serve HealthKit's dependencies.
            await File.WriteAllTextAsync(Path.Combine(directory, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="healthkit-local" value="{feed}" />
                  </packageSources>
                </configuration>

                """);
            await RunAsync(work, "dotnet", "add", project, "package", "HealthKit", "--version", version);
            var program = Path.Combine(directory, "Program.cs");
            var text = await File.ReadAllTextAsync(program);
            if (!text.Contains(BuilderLine, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{program} has no '{BuilderLine}'.");
            }

            // The README's one line, where it says to put it.
            text = "using HealthKit;\n" + text.Replace(BuilderLine, BuilderLine + "\nbuilder.Services.AddDeployHealth();", StringComparison.Ordinal);
            await File.WriteAllTextAsync(program, text);
        }

        Console.Error.WriteLine($"publishing {name}");
        await RunAsync(work, "dotnet", "publish", project, "-c", "Release", "-o", output);
        return new Published(template, healthKit, output, DirectorySize(output));
    }

    private static long DirectorySize(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static (Process Process, long Started) Launch(Published app, int port, StringBuilder output, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = app.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(app.Directory, $"{AppName}.dll"));
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        // Only so that the kill at the end does not matter to either; no effect on the start.
        info.Environment["DeployHealth__Drain__Delay"] = "00:00:00";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var started = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, started);
    }

    private static async Task<Start> MeasureAsync(Published app)
    {
        var port = RunnerSupport.FreePort();
        var output = new StringBuilder();
        var (launched, started) = Launch(app, port, output);
        using var process = launched;
        try
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, port);
            var root = await FirstOkAsync(endpoint, "/", started, StartBound, process, output);
            var cpu = CpuTime(process.Id);
            var rss = RssBytes(process.Id);
            var assemblies = MappedAssemblies(process.Id);
            TimeSpan? live = null;
            TimeSpan? ready = null;
            if (app.HealthKit)
            {
                live = await FirstOkAsync(endpoint, "/health/live", started, ReadyBound, process, output);
                ready = await FirstOkAsync(endpoint, "/health", started, ReadyBound, process, output);
            }

            return new Start(root, cpu, rss, assemblies, live, ready);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// One start with HealthKit's probe listener on loopback and details for it: the checks' durations in the first
    /// evaluation readiness answered 200 from, and when the warm-up ended.
    /// </summary>
    private static async Task<FirstReadiness> MeasureReadinessAsync(Published app)
    {
        var port = RunnerSupport.FreePort();
        var probePort = RunnerSupport.FreePort();
        var output = new StringBuilder();
        var (launched, started) = Launch(
            app,
            port,
            output,
            ("DeployHealth__ProbeListener__Port", probePort.ToString(CultureInfo.InvariantCulture)),
            ("DeployHealth__ProbeListener__Address", "127.0.0.1"),
            ("DeployHealth__ProbeListener__DetailsForLoopback", "true"));
        using var process = launched;
        try
        {
            var probe = new IPEndPoint(IPAddress.Loopback, probePort);
            var live = await FirstOkAsync(probe, "/health/live", started, StartBound, process, output);
            var document = new StringBuilder();
            var ready = await FirstOkAsync(probe, "/health", started, ReadyBound, process, output, document);
            var body = document.ToString();
            var json = body[body.IndexOf("\r\n\r\n", StringComparison.Ordinal)..].Trim();
            var checks = new List<(string Name, double Milliseconds)>();
            using (var parsed = System.Text.Json.JsonDocument.Parse(json))
            {
                if (parsed.RootElement.TryGetProperty("checks", out var entries))
                {
                    foreach (var entry in entries.EnumerateObject())
                    {
                        checks.Add((entry.Name, entry.Value[0].GetProperty("observedValue").GetDouble()));
                    }
                }
            }

            string log;
            lock (output)
            {
                log = output.ToString();
            }

            var warm = System.Text.RegularExpressions.Regex.Match(log, @"Warm-up finished (\d+) ms after start");
            return new FirstReadiness(live, ready, checks, warm.Success ? double.Parse(warm.Groups[1].Value, CultureInfo.InvariantCulture) : null);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Polls <paramref name="path"/> every millisecond until it answers 200; the time since exec. With
    /// <paramref name="response"/>, the whole 200 response (the request asks the server to close) is appended to it.
    /// </summary>
    private static async Task<TimeSpan> FirstOkAsync(IPEndPoint endpoint, string path, long started, TimeSpan bound, Process process, StringBuilder output, StringBuilder? response = null)
    {
        var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        var buffer = new byte[64];
        while (Stopwatch.GetElapsedTime(started) < bound)
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endpoint);
                await socket.SendAsync(request);
                var read = 0;
                while (read < 12)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(read));
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                if (read >= 12 && Encoding.ASCII.GetString(buffer, 9, 3) == "200")
                {
                    var at = Stopwatch.GetElapsedTime(started);
                    if (response is not null)
                    {
                        var all = new List<byte>(buffer.AsSpan(0, read).ToArray());
                        var chunk = new byte[4096];
                        int n;
                        while ((n = await socket.ReceiveAsync(chunk)) > 0)
                        {
                            all.AddRange(chunk.AsSpan(0, n).ToArray());
                        }

                        response.Append(Encoding.UTF8.GetString(all.ToArray()));
                    }

                    return at;
                }
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(1);
        }

        lock (output)
        {
            throw new InvalidOperationException($"{path} did not answer 200 within {bound.TotalSeconds:0} s:\n{output}");
        }
    }

    private static TimeSpan CpuTime(int pid)
    {
        // /proc/PID/stat: the command may hold spaces, so fields count from the last ')'; utime and stime are the
        // 14th and 15th fields, in clock ticks (100 a second on Linux).
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static SortedSet<string> MappedAssemblies(int pid)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.EndsWith(".dll", StringComparison.Ordinal))
            {
                names.Add(Path.GetFileNameWithoutExtension(line[slash..]));
            }
        }

        return names;
    }

    private static void Report(List<(string Template, Published Plain, Published HealthKit)> apps, Dictionary<(string, bool), List<Start>> results, int rounds, TimeSpan took)
    {
        var output = Console.Out;
        output.WriteLine($"## Start-up: {rounds} interleaved rounds ({took.TotalMinutes:0.0} min)");
        output.WriteLine();
        output.WriteLine($"- {Environment.ProcessorCount} cores, .NET {Environment.Version}, load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        output.WriteLine();
        output.WriteLine("| template | CPU to first 200 on / (plain, HealthKit) | ratio | wall to first 200 on / | ratio | RSS at first 200 | difference | published size |");
        output.WriteLine("|---|---|---:|---|---:|---|---:|---|");
        foreach (var (template, plain, healthKit) in apps)
        {
            var p = results[(template, false)];
            var h = results[(template, true)];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Label(template)} " +
                $"| {MedianOf(p, s => s.Cpu.TotalMilliseconds):0} ms, {MedianOf(h, s => s.Cpu.TotalMilliseconds):0} ms | {MedianRatio(p, h, s => s.Cpu.TotalMilliseconds):0.000} " +
                $"| {MedianOf(p, s => s.Root.TotalMilliseconds):0} ms, {MedianOf(h, s => s.Root.TotalMilliseconds):0} ms | {MedianRatio(p, h, s => s.Root.TotalMilliseconds):0.000} " +
                $"| {MedianOf(p, s => s.Rss) / 1048576.0:0.0} MB, {MedianOf(h, s => s.Rss) / 1048576.0:0.0} MB | {MedianDifference(p, h, s => s.Rss) / 1048576.0:+0.0;-0.0} MB " +
                $"| {plain.Size / 1024.0:0} KB, {healthKit.Size / 1048576.0:0.0} MB |"));
        }

        output.WriteLine();
        output.WriteLine("Per-round ratios (HealthKit ÷ plain), CPU time and wall time to the first 200 on `/`:");
        output.WriteLine();
        foreach (var (template, _, _) in apps)
        {
            var p = results[(template, false)];
            var h = results[(template, true)];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"- {Label(template)}: CPU {string.Join(' ', Ratios(p, h, s => s.Cpu.TotalMilliseconds).Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; " +
                $"wall {string.Join(' ', Ratios(p, h, s => s.Root.TotalMilliseconds).Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}"));
        }

        output.WriteLine();
        output.WriteLine("| template (HealthKit) | first 200 on / | first 200 on /health/live | first 200 on /health | readiness ÷ liveness (median of rounds) |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (template, _, _) in apps)
        {
            var h = results[(template, true)];
            var perRound = h.Select(s => s.Ready!.Value.TotalMilliseconds / s.Live!.Value.TotalMilliseconds).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Label(template)} | {MedianOf(h, s => s.Root.TotalMilliseconds):0} ms | {MedianOf(h, s => s.Live!.Value.TotalMilliseconds):0} ms | {MedianOf(h, s => s.Ready!.Value.TotalMilliseconds):0} ms | {RunnerSupport.Median(perRound):0.00} |"));
        }

        output.WriteLine();
        output.WriteLine("Assemblies mapped at the first 200 on `/` by the HealthKit app and by none of the plain app's starts (last round's HealthKit start):");
        output.WriteLine();
        foreach (var (template, _, _) in apps)
        {
            var plainSets = results[(template, false)].Select(s => s.Assemblies).ToList();
            var extra = results[(template, true)][^1].Assemblies.Where(a => plainSets.All(set => !set.Contains(a))).ToList();
            output.WriteLine($"- {Label(template)} ({extra.Count}): {string.Join(", ", extra)}");
        }
    }

    private static void ReportReadiness(List<(string Template, Published Plain, Published HealthKit)> apps, Dictionary<string, List<FirstReadiness>> readiness)
    {
        if (readiness.Count == 0)
        {
            return;
        }

        var output = Console.Out;
        output.WriteLine();
        output.WriteLine($"First readiness, {readiness.First().Value.Count} starts per template with the loopback probe listener and details on (medians; each check's share of its {DefaultDeadline.TotalMilliseconds:0} ms deadline, the default `DeployHealth:CheckDeadline`):");
        output.WriteLine();
        output.WriteLine("| template (HealthKit) | first 200 on /health/live | warm-up finished | first 200 on /health | readiness ÷ liveness | slowest check in the first ready evaluation | its share of the deadline (per start) |");
        output.WriteLine("|---|---:|---:|---:|---:|---|---|");
        foreach (var (template, _, _) in apps)
        {
            if (!readiness.TryGetValue(template, out var starts))
            {
                continue;
            }

            var slowest = starts.Select(s => s.Checks.Count == 0 ? (Name: "(none)", Milliseconds: 0.0) : s.Checks.MaxBy(c => c.Milliseconds)).ToList();
            var names = string.Join(", ", slowest.Select(c => c.Name).Distinct());
            var shares = string.Join(' ', slowest.Select(c => (c.Milliseconds / DefaultDeadline.TotalMilliseconds).ToString("0.0%", CultureInfo.InvariantCulture)));
            var warm = starts.Where(s => s.WarmMilliseconds is not null).Select(s => s.WarmMilliseconds!.Value).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Label(template)} | {RunnerSupport.Median(starts.Select(s => s.Live.TotalMilliseconds).ToList()):0} ms | {(warm.Count == 0 ? "-" : $"{RunnerSupport.Median(warm):0} ms after start")} " +
                $"| {RunnerSupport.Median(starts.Select(s => s.Ready.TotalMilliseconds).ToList()):0} ms | {RunnerSupport.Median(starts.Select(s => s.Ready.TotalMilliseconds / s.Live.TotalMilliseconds).ToList()):0.00} " +
                $"| {names}: {RunnerSupport.Median(slowest.Select(c => c.Milliseconds).ToList()):0.0} ms | {shares} |"));
        }
    }

    private static string Label(string template) => template switch
    {
        "auth" => "`webapp --auth Individual`",
        _ when template.EndsWith(BaselineSuffix, StringComparison.Ordinal) => Label(template[..^BaselineSuffix.Length]) + " (baseline)",
        _ => $"`{template}`",
    };

    private static double MedianOf(IEnumerable<Start> starts, Func<Start, double> value) => RunnerSupport.Median(starts.Select(value).ToList());

    private static List<double> Ratios(List<Start> plain, List<Start> healthKit, Func<Start, double> value) =>
        plain.Zip(healthKit, (p, h) => value(h) / value(p)).ToList();

    private static double MedianRatio(List<Start> plain, List<Start> healthKit, Func<Start, double> value) => RunnerSupport.Median(Ratios(plain, healthKit, value));

    private static double MedianDifference(List<Start> plain, List<Start> healthKit, Func<Start, double> value) =>
        RunnerSupport.Median(plain.Zip(healthKit, (p, h) => value(h) - value(p)).ToList());

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HealthKit.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No HealthKit.sln above {AppContext.BaseDirectory}.");
    }

    private static async Task RunAsync(string directory, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(bound.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}{await stderr}");
        }
    }

    private sealed record Published(string Template, bool HealthKit, string Directory, long Size);

    private sealed record Start(TimeSpan Root, TimeSpan Cpu, long Rss, SortedSet<string> Assemblies, TimeSpan? Live, TimeSpan? Ready)
    {
        public override string ToString()
        {
            var text = string.Create(
                CultureInfo.InvariantCulture,
                $"/ {Root.TotalMilliseconds:0} ms, CPU {Cpu.TotalMilliseconds:0} ms, RSS {Rss / 1048576.0:0.0} MB, {Assemblies.Count} assemblies");
            return Live is { } live
                ? text + string.Create(CultureInfo.InvariantCulture, $", live {live.TotalMilliseconds:0} ms, ready {Ready!.Value.TotalMilliseconds:0} ms")
                : text;
        }
    }

    private sealed record FirstReadiness(TimeSpan Live, TimeSpan Ready, List<(string Name, double Milliseconds)> Checks, double? WarmMilliseconds)
    {
        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"live {Live.TotalMilliseconds:0} ms, ready {Ready.TotalMilliseconds:0} ms, warm {WarmMilliseconds?.ToString("0", CultureInfo.InvariantCulture) ?? "-"} ms, checks {string.Join(", ", Checks.Select(c => $"{c.Name} {c.Milliseconds:0.0} ms"))}");
    }
}

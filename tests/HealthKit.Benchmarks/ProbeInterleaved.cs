// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>probe [--requests 20000] [--blocks 20]</c>: benchmark (a)'s cached probe, resolved on a machine too busy for
/// BenchmarkDotNet's wall times. The same apps and requests as <see cref="ProbeBenchmarks"/> (the bare endpoint, the
/// cached probe with and without ELB's <c>User-Agent</c>, the floor), measured in blocks of requests that take turns
/// (the order rotates from block to block), so that a change of load falls on every target alike; per block the wall
/// time and the CPU time of the thread that sends them per request (a cached probe completes synchronously, so the
/// whole request runs on it, and time spent descheduled on a busy machine is not counted), and per target the median
/// over blocks and the median of its ratio to the bare endpoint's block beside it.
/// </summary>
public static partial class ProbeInterleaved
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    private const string AlbUserAgent = "ELB-HealthChecker/2.0";

    public static async Task<int> RunAsync(string[] args)
    {
        var requests = RunnerSupport.Option(args, "--requests", 20000);
        var blocks = RunnerSupport.Option(args, "--blocks", 20);
        await using var healthKit = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: true), Scenario.MapEndpoints, Scenario.LongCache);
        await using var plain = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: false), Scenario.MapEndpoints);
        await using var floor = await BenchmarkApp.StartAsync(_ => { }, Scenario.MapFloor);
        await healthKit.ExpectAsync(Scenario.ProbePath, 200, Scenario.Pass);
        await plain.ExpectAsync(Scenario.PingPath, 200, Scenario.PingBody);
        await floor.ExpectAsync(Scenario.ProbePath, 200, Scenario.Pass);

        var targets = new (string Label, BenchmarkApp App, string Path, string? UserAgent)[]
        {
            ("bare MapGet /ping (baseline)", plain, Scenario.PingPath, null),
            ("HealthKit /health (cached)", healthKit, Scenario.ProbePath, null),
            ("HealthKit /health (cached, ELB-HealthChecker)", healthKit, Scenario.ProbePath, AlbUserAgent),
            ("floor: first middleware, constant body", floor, Scenario.ProbePath, null),
        };

        // Warm every target, so that tiered compilation has settled before the first block.
        for (var i = 0; i < 3; i++)
        {
            foreach (var target in targets)
            {
                await BlockAsync(target.App, target.Path, target.UserAgent, requests);
            }
        }

        var results = targets.Select(_ => new List<(double Wall, double Cpu, double Bytes)>()).ToArray();
        for (var block = 0; block < blocks; block++)
        {
            for (var turn = 0; turn < targets.Length; turn++)
            {
                var index = (block + turn) % targets.Length;
                var target = targets[index];
                results[index].Add(await BlockAsync(target.App, target.Path, target.UserAgent, requests));
            }
        }

        Console.WriteLine($"- {Environment.ProcessorCount} cores, .NET {Environment.Version}, {blocks} rounds of blocks of {requests} requests, load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine("| target | wall, ns (median) | thread CPU, ns (median) | ratio to bare, wall (median of rounds) | ratio to bare, thread CPU (median of rounds) | allocated per request |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < targets.Length; i++)
        {
            var wallRatio = RunnerSupport.Median(results[0].Zip(results[i], (b, t) => t.Wall / b.Wall).ToList());
            var cpuRatio = RunnerSupport.Median(results[0].Zip(results[i], (b, t) => t.Cpu / b.Cpu).ToList());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {targets[i].Label} | {RunnerSupport.Median(results[i].Select(r => r.Wall).ToList()):0} | {RunnerSupport.Median(results[i].Select(r => r.Cpu).ToList()):0} | {wallRatio:0.00} | {cpuRatio:0.00} | {RunnerSupport.Median(results[i].Select(r => r.Bytes).ToList()):0} B |"));
        }

        return 0;
    }

    /// <summary>
    /// One block: the wall time and the process CPU time per request, in nanoseconds, and the bytes allocated per request
    /// on this thread (a cached probe completes synchronously, so the whole request runs here).
    /// </summary>
    private static async Task<(double Wall, double Cpu, double Bytes)> BlockAsync(BenchmarkApp app, string path, string? userAgent, int requests)
    {
        var cpu = ThreadCpuNanoseconds();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < requests; i++)
        {
            await app.SendAsync(BenchmarkRequest.Create(path, userAgent: userAgent));
        }

        var wall = Stopwatch.GetElapsedTime(started);
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return (wall.TotalNanoseconds / requests, (double)(ThreadCpuNanoseconds() - cpu) / requests, (double)bytes / requests);
    }

    private static long ThreadCpuNanoseconds() =>
        ClockGetTime(ThreadCpuClock, out var time) == 0 ? (time.Seconds * 1_000_000_000) + time.Nanoseconds : throw new InvalidOperationException("clock_gettime failed.");

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

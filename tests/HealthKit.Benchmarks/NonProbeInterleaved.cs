// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>nonprobe [--requests 20000] [--blocks 40]</c>: the in-process cost of a request that is not a probe, resolved
/// more finely than separate BenchmarkDotNet runs can. The same two apps as <see cref="NonProbeBenchmarks"/>, measured
/// in alternating blocks of requests (which app goes first alternates too), so that a change of the machine's load
/// or clock falls on both apps of a pair; per pair the ratio of wall times and of process CPU times, and the median
/// over pairs.
/// </summary>
public static class NonProbeInterleaved
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = RunnerSupport.Option(args, "--requests", 20000);
        var blocks = RunnerSupport.Option(args, "--blocks", 40);
        await using var without = await BenchmarkApp.StartAsync(b => NonProbeBenchmarks.AddServices(b, healthKit: false), NonProbeBenchmarks.MapEndpoints);
        await using var with = await BenchmarkApp.StartAsync(b => NonProbeBenchmarks.AddServices(b, healthKit: true), NonProbeBenchmarks.MapEndpoints, Scenario.LongCache);
        foreach (var app in new[] { without, with })
        {
            await app.ExpectAsync(Scenario.HomePath, 200, Scenario.HomeBody);
            await app.ExpectAsync(Scenario.AsyncHomePath, 200, Scenario.HomeBody);
        }

        Console.WriteLine($"- {Environment.ProcessorCount} cores, .NET {Environment.Version}, {blocks} pairs of blocks of {requests} requests, load average at the start: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine("| request | without HealthKit, ns (wall, CPU) | with HealthKit, ns (wall, CPU) | ratio, wall (median of pairs) | ratio, CPU (median of pairs) | difference, wall |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (label, path, viaBalancer) in new[]
        {
            ("GET /", Scenario.HomePath, false),
            ("GET / via balancer", Scenario.HomePath, true),
            ("GET /async via balancer", Scenario.AsyncHomePath, true),
        })
        {
            // Warm both, so that tiered compilation has settled before the first pair.
            for (var i = 0; i < 3; i++)
            {
                await BlockAsync(without, path, viaBalancer, requests);
                await BlockAsync(with, path, viaBalancer, requests);
            }

            var plain = new List<(double Wall, double Cpu)>();
            var healthKit = new List<(double Wall, double Cpu)>();
            for (var block = 0; block < blocks; block++)
            {
                if (block % 2 == 0)
                {
                    plain.Add(await BlockAsync(without, path, viaBalancer, requests));
                    healthKit.Add(await BlockAsync(with, path, viaBalancer, requests));
                }
                else
                {
                    healthKit.Add(await BlockAsync(with, path, viaBalancer, requests));
                    plain.Add(await BlockAsync(without, path, viaBalancer, requests));
                }
            }

            var wallRatio = RunnerSupport.Median(plain.Zip(healthKit, (p, h) => h.Wall / p.Wall).ToList());
            var cpuRatio = RunnerSupport.Median(plain.Zip(healthKit, (p, h) => h.Cpu / p.Cpu).ToList());
            var difference = RunnerSupport.Median(plain.Zip(healthKit, (p, h) => h.Wall - p.Wall).ToList());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {RunnerSupport.Median(plain.Select(p => p.Wall).ToList()):0}, {RunnerSupport.Median(plain.Select(p => p.Cpu).ToList()):0} | {RunnerSupport.Median(healthKit.Select(h => h.Wall).ToList()):0}, {RunnerSupport.Median(healthKit.Select(h => h.Cpu).ToList()):0} | {wallRatio:0.000} | {cpuRatio:0.000} | {difference:+0.0;-0.0} ns |"));
        }

        return 0;
    }

    /// <summary>One block: the wall time and the process CPU time per request, in nanoseconds.</summary>
    private static async Task<(double Wall, double Cpu)> BlockAsync(BenchmarkApp app, string path, bool viaBalancer, int requests)
    {
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < requests; i++)
        {
            await app.SendAsync(BenchmarkRequest.Create(path, viaBalancer: viaBalancer));
        }

        var wall = Stopwatch.GetElapsedTime(started);
        self.Refresh();
        return (wall.TotalNanoseconds / requests, (self.TotalProcessorTime - cpu).TotalNanoseconds / requests);
    }
}

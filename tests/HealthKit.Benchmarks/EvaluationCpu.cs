// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using HealthKit.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>evalcpu [--evaluations 2000] [--blocks 10]</c>: the process CPU time of one evaluation of N trivial checks,
/// HealthKit's evaluator against <see cref="HealthCheckService"/>, for a machine too busy for BenchmarkDotNet's wall
/// times (where every thread-pool hop waits for a core). Alternating blocks of each, the median per-block ratio.
/// </summary>
public static class EvaluationCpu
{
    public static async Task<int> RunAsync(string[] args)
    {
        var evaluations = RunnerSupport.Option(args, "--evaluations", 2000);
        var blocks = RunnerSupport.Option(args, "--blocks", 10);
        Console.WriteLine("| checks | HealthCheckService CPU µs / evaluation | HealthEvaluator CPU µs / evaluation | ratio (median of blocks) |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var n in new[] { 1, 10, 50, 200 })
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
            services.AddLogging();
            var health = services.AddDeployHealth();
            for (var i = 0; i < n; i++)
            {
                health.AddCheck($"check-{i}", static () => HealthCheckResult.Healthy());
            }

            await using var provider = services.BuildServiceProvider();
            var evaluator = provider.GetRequiredService<HealthEvaluator>();
            var framework = provider.GetRequiredService<HealthCheckService>();
            var count = Math.Max(20, evaluations / n);
            Func<Task> hcs = async () => await framework.CheckHealthAsync();
            Func<Task> hk = async () => await evaluator.EvaluateNowAsync();
            await BlockAsync(hcs, count);
            await BlockAsync(hk, count);
            var a = new List<double>();
            var b = new List<double>();
            for (var block = 0; block < blocks; block++)
            {
                a.Add(await BlockAsync(hcs, count));
                b.Add(await BlockAsync(hk, count));
            }

            var ratios = a.Zip(b, (x, y) => y / x).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {RunnerSupport.Median(a):0.0} | {RunnerSupport.Median(b):0.0} | {RunnerSupport.Median(ratios):0.00} |"));
        }

        return 0;
    }

    private static async Task<double> BlockAsync(Func<Task> evaluate, int count)
    {
        using var self = Process.GetCurrentProcess();
        var before = self.TotalProcessorTime;
        for (var i = 0; i < count; i++)
        {
            await evaluate();
        }

        self.Refresh();
        return (self.TotalProcessorTime - before).TotalMicroseconds / count;
    }
}

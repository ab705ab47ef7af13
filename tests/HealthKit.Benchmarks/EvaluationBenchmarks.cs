// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using HealthKit.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Benchmarks;

/// <summary>
/// (c) One uncached evaluation of N trivial checks: what a probe pays once per cache period. HealthKit's evaluator
/// (one work item, one timer and one cancellation source per evaluation; a scope per check, as the framework) next to
/// the framework's <see cref="HealthCheckService"/> over the same registrations.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class EvaluationBenchmarks
{
    private ServiceProvider _services = null!;
    private HealthEvaluator _evaluator = null!;
    private HealthCheckService _framework = null!;

    [Params(1, 10, 50, 200)]
    public int Checks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        var health = services.AddDeployHealth();
        for (var i = 0; i < Checks; i++)
        {
            health.AddCheck($"check-{i}", static () => HealthCheckResult.Healthy());
        }

        _services = services.BuildServiceProvider();
        _evaluator = _services.GetRequiredService<HealthEvaluator>();
        _framework = _services.GetRequiredService<HealthCheckService>();
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "HealthCheckService.CheckHealthAsync")]
    public async Task<HealthStatus> Framework() => (await _framework.CheckHealthAsync()).Status;

    [Benchmark(Description = "HealthEvaluator.EvaluateNowAsync")]
    public async Task<HealthStatus> HealthKit() => (await _evaluator.EvaluateNowAsync()).Status;
}

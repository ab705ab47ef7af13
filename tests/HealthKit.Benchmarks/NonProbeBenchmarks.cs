// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;

namespace HealthKit.Benchmarks;

/// <summary>
/// (b) What HealthKit costs a request that is not a probe: the same endpoint in the same app, with and without
/// <c>AddDeployHealth()</c>. The only extra work is HealthKit's middleware matching the path and passing it on.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class NonProbeBenchmarks
{
    private BenchmarkApp _without = null!;
    private BenchmarkApp _with = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _without = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: false), Scenario.MapEndpoints);
        _with = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: true), Scenario.MapEndpoints, Scenario.LongCache);
        await _without.ExpectAsync(Scenario.HomePath, 200, Scenario.HomeBody);
        await _with.ExpectAsync(Scenario.HomePath, 200, Scenario.HomeBody);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _without.DisposeAsync();
        await _with.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "GET / without HealthKit")]
    public Task WithoutHealthKit() => _without.SendAsync(BenchmarkRequest.Create(Scenario.HomePath));

    [Benchmark(Description = "GET / with HealthKit")]
    public Task WithHealthKit() => _with.SendAsync(BenchmarkRequest.Create(Scenario.HomePath));
}

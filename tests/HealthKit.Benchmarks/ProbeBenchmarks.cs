// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;

namespace HealthKit.Benchmarks;

/// <summary>
/// (a) One cached readiness probe through HealthKit against the alternatives, each through a real pipeline:
/// a bare minimal-API endpoint (the baseline), ASP.NET Core's <c>MapHealthChecks</c> with the same trivial check,
/// and the floor (a first middleware writing a constant body), whose allocations are hosting's and this harness's.
/// HealthKit's own allocations per probe are the probe's Allocated minus the floor's.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class ProbeBenchmarks
{
    private const string AlbUserAgent = "ELB-HealthChecker/2.0";

    private BenchmarkApp _healthKit = null!;
    private BenchmarkApp _plain = null!;
    private BenchmarkApp _floor = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _healthKit = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: true), Scenario.MapEndpoints, Scenario.LongCache);
        _plain = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: false), Scenario.MapEndpoints);
        _floor = await BenchmarkApp.StartAsync(_ => { }, Scenario.MapFloor);

        // The first probe runs the evaluation; every measured one is answered from its cached result.
        await _healthKit.ExpectAsync(Scenario.ProbePath, 200, Scenario.Pass);
        await _plain.ExpectAsync(Scenario.PingPath, 200, Scenario.PingBody);
        await _plain.ExpectAsync(Scenario.MapHealthChecksPath, 200, "Healthy");
        await _floor.ExpectAsync(Scenario.ProbePath, 200, Scenario.Pass);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _healthKit.DisposeAsync();
        await _plain.DisposeAsync();
        await _floor.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "bare MapGet /ping")]
    public Task BareEndpoint() => _plain.SendAsync(BenchmarkRequest.Create(Scenario.PingPath));

    [Benchmark(Description = "HealthKit /health (cached)")]
    public Task HealthKitProbe() => _healthKit.SendAsync(BenchmarkRequest.Create(Scenario.ProbePath));

    /// <summary>The same probe as an ALB sends it: the balancer ledger finds its known entry (no allocation expected).</summary>
    [Benchmark(Description = "HealthKit /health (cached, ELB-HealthChecker)")]
    public Task HealthKitProbeFromAlb() => _healthKit.SendAsync(BenchmarkRequest.Create(Scenario.ProbePath, userAgent: AlbUserAgent));

    [Benchmark(Description = "MapHealthChecks /hc")]
    public Task MapHealthChecks() => _plain.SendAsync(BenchmarkRequest.Create(Scenario.MapHealthChecksPath));

    [Benchmark(Description = "floor: first middleware, constant body")]
    public Task Floor() => _floor.SendAsync(BenchmarkRequest.Create(Scenario.ProbePath));

    [Benchmark(Description = "floor, ELB-HealthChecker")]
    public Task FloorFromAlb() => _floor.SendAsync(BenchmarkRequest.Create(Scenario.ProbePath, userAgent: AlbUserAgent));
}

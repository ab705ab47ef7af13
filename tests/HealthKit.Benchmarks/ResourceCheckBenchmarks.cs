// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using HealthKit.Resources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Benchmarks;

/// <summary>
/// (j) One run of each resource check, as an evaluation runs it: what memory, disk (the temp directory of a plain app)
/// and file descriptors add to an evaluation. A cached probe runs none of them ((a) shows its allocations unchanged).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class ResourceCheckBenchmarks
{
    private ServiceProvider _services = null!;
    private HealthCheckContext _context = null!;
    private IHealthCheck _memory = null!;
    private IHealthCheck _disk = null!;
    private IHealthCheck _descriptors = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddDeployHealth();
        _services = services.BuildServiceProvider();
        _memory = _services.GetRequiredService<MemoryHealthCheck>();
        _disk = _services.GetRequiredService<DiskHealthCheck>();
        _descriptors = _services.GetRequiredService<FileDescriptorHealthCheck>();
        _context = new HealthCheckContext { Registration = new HealthCheckRegistration("resource", _memory, null, null) };
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Description = "memory")]
    public Task<HealthCheckResult> Memory() => _memory.CheckHealthAsync(_context);

    [Benchmark(Description = "disk (temp)")]
    public Task<HealthCheckResult> Disk() => _disk.CheckHealthAsync(_context);

    [Benchmark(Description = "file_descriptors")]
    public Task<HealthCheckResult> Descriptors() => _descriptors.CheckHealthAsync(_context);
}

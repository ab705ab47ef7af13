// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Benchmarks;

/// <summary>
/// (b) What HealthKit costs a request that is not a probe: the same endpoint in the same app, with and without
/// <c>AddDeployHealth()</c>. Both apps apply forwarded headers, as an app behind a TLS-terminating balancer does;
/// requests come direct or through the balancer (X-Forwarded-For and -Proto), to an endpoint that completes
/// synchronously or one that awaits.
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
        _without = await BenchmarkApp.StartAsync(b => AddServices(b, healthKit: false), MapEndpoints);
        _with = await BenchmarkApp.StartAsync(b => AddServices(b, healthKit: true), MapEndpoints, Scenario.LongCache);
        foreach (var app in new[] { _without, _with })
        {
            await app.ExpectAsync(Scenario.HomePath, 200, Scenario.HomeBody);
            await app.ExpectAsync(Scenario.AsyncHomePath, 200, Scenario.HomeBody);
        }
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

    [Benchmark(Description = "GET / via balancer, without HealthKit")]
    public Task ViaBalancerWithoutHealthKit() => _without.SendAsync(BenchmarkRequest.Create(Scenario.HomePath, viaBalancer: true));

    [Benchmark(Description = "GET / via balancer, with HealthKit")]
    public Task ViaBalancerWithHealthKit() => _with.SendAsync(BenchmarkRequest.Create(Scenario.HomePath, viaBalancer: true));

    [Benchmark(Description = "GET /async via balancer, without HealthKit")]
    public Task AsyncViaBalancerWithoutHealthKit() => _without.SendAsync(BenchmarkRequest.Create(Scenario.AsyncHomePath, viaBalancer: true));

    [Benchmark(Description = "GET /async via balancer, with HealthKit")]
    public Task AsyncViaBalancerWithHealthKit() => _with.SendAsync(BenchmarkRequest.Create(Scenario.AsyncHomePath, viaBalancer: true));

    internal static void AddServices(WebApplicationBuilder builder, bool healthKit)
    {
        builder.Services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);
        Scenario.AddServices(builder.Services, healthKit);
    }

    internal static void MapEndpoints(WebApplication app)
    {
        app.UseForwardedHeaders();
        Scenario.MapEndpoints(app);
    }
}

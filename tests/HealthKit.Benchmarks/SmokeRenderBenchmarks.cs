// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using HealthKit.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Benchmarks;

/// <summary>
/// One smoke render, in-process through the app's own pipeline, of a Razor page (tests/HealthKit.TestSite's Index:
/// session, antiforgery form, IHttpContextAccessor) and of a minimal API endpoint, next to the same request made
/// over a loopback socket with HttpClient to the same app on Kestrel.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class SmokeRenderBenchmarks
{
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private HealthCheckRegistration _page = null!;
    private HealthCheckRegistration _api = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "HealthKit.TestSite",
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddRazorPages();
        builder.Services.AddDistributedMemoryCache();
        builder.Services.AddSession();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddDeployHealth(o =>
        {
            o.AutoDiscover = false;
            o.SelfTest = false;
            o.Drain.Delay = TimeSpan.Zero;
        }).AddSmokePage("/", p => p.ExpectedText = "Shop front").AddSmokePage("/api/ping");

        _app = builder.Build();
        _app.UseRouting();
        _app.UseSession();
        _app.MapRazorPages();
        _app.MapGet("/api/ping", () => Results.Ok(new { pong = true }));
        await _app.StartAsync();

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
        var registrations = _app.Services.GetRequiredService<HealthKitRegistry>().Readiness;
        _page = registrations.First(r => r.Name == "smoke /");
        _api = registrations.First(r => r.Name == "smoke /api/ping");

        // Warm both paths, and prove the renders pass: a benchmark of a failing render would measure the failure.
        foreach (var registration in new[] { _page, _api })
        {
            var result = await RenderAsync(registration);
            if (result.Status != HealthStatus.Healthy)
            {
                throw new InvalidOperationException($"{registration.Name}: {result.Description}");
            }
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Benchmark(Description = "smoke render, Razor page")]
    public Task<HealthCheckResult> SmokeRazorPage() => RenderAsync(_page);

    [Benchmark(Description = "HttpClient over loopback, Razor page")]
    public Task<string> SocketRazorPage() => _client.GetStringAsync(new Uri("/", UriKind.Relative));

    [Benchmark(Description = "smoke render, minimal API")]
    public Task<HealthCheckResult> SmokeMinimalApi() => RenderAsync(_api);

    [Benchmark(Description = "HttpClient over loopback, minimal API")]
    public Task<string> SocketMinimalApi() => _client.GetStringAsync(new Uri("/api/ping", UriKind.Relative));

    private async Task<HealthCheckResult> RenderAsync(HealthCheckRegistration registration)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var check = registration.Factory(scope.ServiceProvider);
        return await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });
    }
}

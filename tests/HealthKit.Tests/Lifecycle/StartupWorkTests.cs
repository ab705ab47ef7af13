// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// When HealthKit's start-up work begins on a real app on Kestrel: not beside the app's first request, but once it
/// has been answered; at once for a readiness probe; after the quiet-start delay when nobody asks anything; right at
/// start in a host without a server. The check counts its runs: the warm-up's evaluation is that work.
/// Time is fake where the quiet-start delay must not fire by itself. The rules alone: <see cref="StartupWorkRulesTests"/>.
/// </summary>
public sealed class StartupWorkTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task FirstRequest_Answered_StartupWorkBeginsAfterIt()
    {
        var runs = new Counter();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await StartAsync(runs, time);
        var work = app.Services.GetRequiredService<StartupWork>();

        // Started, nothing asked, and the quiet-start delay cannot pass on a fake clock: the work has not begun. That
        // it waits for as long as nobody asks is a rule of its own, on fake time (StartupWorkRulesTests).
        var runsBefore = runs.Value;
        var pendingBefore = work.IsPending;
        var home = await RawHttp.GetAsync(app.Address, "/", "localhost");
        await runs.WaitForRunAsync("after the first response");

        Assert.Equal(0, runsBefore);
        Assert.True(pendingBefore);
        Assert.Equal(200, home.Status);
        Assert.False(work.IsPending);
    }

    [Fact]
    public async Task ReadinessProbe_BeforeAnyRequest_EvaluatesAndAnswersAtOnce()
    {
        var runs = new Counter();
        await using var app = await StartAsync(runs, new FakeTimeProvider(DateTimeOffset.UtcNow));

        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");

        Assert.Equal(200, probe.Status);
        Assert.True(runs.Value >= 1);
        Assert.False(app.Services.GetRequiredService<StartupWork>().IsPending);
    }

    [Fact]
    public async Task NoRequest_QuietStartPasses_StartupWorkBegins()
    {
        var runs = new Counter();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await StartAsync(runs, time);

        time.Advance(StartupWork.QuietStart);

        await runs.WaitForRunAsync("after the quiet-start delay");
    }

    [Fact]
    public async Task HostWithoutServer_Started_StartupWorkBeginsAtOnce()
    {
        var runs = new Counter();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddCheck("counted", runs.Check);
        using var host = builder.Build();

        await host.StartAsync();
        await runs.WaitForRunAsync("in a worker");
        await host.StopAsync();
    }

    private static Task<KestrelApp> StartAsync(Counter runs, TimeProvider time) => KestrelApp.StartAsync(
        builder =>
        {
            builder.Services.AddSingleton(time);
            builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddCheck("counted", runs.Check);
        },
        app => app.MapGet("/", () => "home"));

    private sealed class Counter
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public HealthCheckResult Check()
        {
            Interlocked.Increment(ref _value);
            return HealthCheckResult.Healthy();
        }

        public Task WaitForRunAsync(string when) =>
            ServerHost.WaitUntilAsync($"the warm-up's evaluation {when}", () => Task.FromResult(Value >= 1), Bound);
    }
}

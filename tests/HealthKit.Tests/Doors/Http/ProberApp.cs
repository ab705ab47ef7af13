// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// What every real-prober test shares: a hardened app (AllowedHosts restricted, HTTPS redirection, HSTS, fallback
/// authorization) whose one check the test switches, and the cycle it is judged by: UP while healthy, DOWN after
/// readiness fails, UP again, each read from the balancer's own status interface with a generous bounded poll.
/// </summary>
public sealed class ProberApp : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private ProberApp(KestrelApp app, SwitchableCheck check)
    {
        App = app;
        Check = check;
    }

    public KestrelApp App { get; }

    public SwitchableCheck Check { get; }

    /// <summary>host:port of the app on 127.0.0.1.</summary>
    public string HostPort => $"127.0.0.1:{App.Address.Port}";

    public static async Task<ProberApp> StartAsync(TemplateStyle style = TemplateStyle.WebApp)
    {
        var check = new SwitchableCheck();
        var app = await HardenedApp.StartAsync(
            style,
            health => health.AddCheck(SwitchableCheck.Name, check),
            new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00.200", ["DeployHealth:Startup:ReadinessDelay"] = "00:00:00" });
        return new ProberApp(app, check);
    }

    /// <summary>UP, then DOWN once the check fails, then UP once it passes again, as <paramref name="isUp"/> reads the balancer.</summary>
    public async Task CycleAsync(string balancer, Func<Task<bool>> isUp, Func<Task<string>> describe)
    {
        await WaitAsync($"{balancer} to report the healthy app UP", isUp, describe);
        Check.Healthy = false;
        await WaitAsync($"{balancer} to report the app DOWN after readiness failed", async () => !await isUp(), describe);
        Check.Healthy = true;
        await WaitAsync($"{balancer} to report the app UP again", isUp, describe);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();

    private static async Task WaitAsync(string what, Func<Task<bool>> condition, Func<Task<string>> describe)
    {
        try
        {
            await ServerHost.WaitUntilAsync(what, condition, Bound);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last seen: {await describe()}", e);
        }
    }
}

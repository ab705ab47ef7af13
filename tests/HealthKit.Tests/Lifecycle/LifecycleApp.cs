// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The application of the lifecycle tests on real Kestrel: HealthKit with the one line, an optional
/// <see cref="SwitchableCheck"/>, and an app endpoint <c>GET /</c> (and <c>POST /</c>) that answers the instance's name, so a test
/// behind a balancer sees which instance served a request.
/// </summary>
public static class LifecycleApp
{
    public static Task<KestrelApp> StartAsync(
        string name = "app",
        IDictionary<string, string?>? configuration = null,
        SwitchableCheck? check = null,
        Action<WebApplicationBuilder>? configureBuilder = null)
    {
        return KestrelApp.StartAsync(
            builder =>
            {
                var health = builder.Services.AddDeployHealth();
                if (check is not null)
                {
                    health.AddCheck(SwitchableCheck.Name, check);
                }

                configureBuilder?.Invoke(builder);
            },
            app => app.MapMethods("/", ["GET", "POST"], () => Results.Text(name)),
            configuration);
    }

    /// <summary>One request with a Host the app accepts, on a connection of its own.</summary>
    public static Task<RawResponse> GetAsync(KestrelApp app, string path, string method = "GET", string extraHeaders = "") =>
        RawHttp.GetAsync(app.Address, path, "localhost", method, extraHeaders: extraHeaders);

    /// <summary>Polls <paramref name="path"/> every 50 ms until it answers <paramref name="status"/>; returns how long that took.</summary>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>.</exception>
    public static async Task<TimeSpan> WaitForStatusAsync(KestrelApp app, string path, int status, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        await ServerHost.WaitUntilAsync(
            $"{path} to answer {status}",
            async () => (await GetAsync(app, path)).Status == status,
            timeout);
        return Stopwatch.GetElapsedTime(start);
    }
}

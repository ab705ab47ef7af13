// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Registry;

/// <summary>
/// A plain web app (what <c>dotnet new web</c> generates, plus <c>AddDeployHealth()</c>) run as a process of its own:
/// HealthKit ships with Npgsql, StackExchange.Redis and EF Core for the apps that use them, and must load none of
/// them into an app that does not, neither at start nor when a probe is answered. A test host inside this test
/// process could not show it: the tests themselves load every one of those assemblies.
/// </summary>
public sealed class DependencyFootprintTests
{
    private static readonly string[] Unused =
    [
        "Npgsql",
        "StackExchange.Redis",
        "Microsoft.EntityFrameworkCore",
        "Microsoft.EntityFrameworkCore.Relational",
        "Microsoft.Extensions.Caching.StackExchangeRedis",
        "HealthChecks.Redis",
        "Microsoft.AspNetCore.Session",
    ];

    [Fact]
    public async Task PlainWebApp_StartedAndProbed_LoadsNoneOfTheDependenciesItDoesNotUse()
    {
        await using var app = SampleProcess.Start(new Dictionary<string, string?>(), SampleProcess.PlainAppAssemblyPath);
        await app.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };

        var home = await client.GetAsync(new Uri("/", UriKind.Relative));
        var ready = await GetUntilAsync(client, "/health", HttpStatusCode.OK);
        var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        var loaded = (await client.GetStringAsync(new Uri("/loaded-assemblies", UriKind.Relative))).Split('\n');

        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Contains("HealthKit", loaded);
        Assert.Empty(loaded.Intersect(Unused, StringComparer.Ordinal));
    }

    /// <summary>Readiness answers "starting" until the first evaluation: poll for the expected status, 60 s at most.</summary>
    private static async Task<HttpStatusCode> GetUntilAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        HttpStatusCode status;
        do
        {
            status = (await client.GetAsync(new Uri(path, UriKind.Relative))).StatusCode;
            if (status == expected)
            {
                break;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < until);

        return status;
    }
}

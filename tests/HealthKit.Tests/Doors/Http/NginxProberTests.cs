// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// Real nginx (open source, passive checks only) running samples/deploy/nginx.conf against a hardened app. nginx has
/// no status interface for upstreams, so what it does is read from what it answers: pages keep the client's Host
/// (<c>proxy_set_header Host $host</c>), so they meet the app's HTTPS redirection instead of host filtering's 400;
/// readiness through nginx follows the app, and a 503 counts as a failure (<c>proxy_next_upstream http_503</c>).
/// </summary>
public sealed class NginxProberTests
{
    [Fact]
    public async Task Passive_PageKeepsHostAndHealthFollowsReadiness()
    {
        await using var app = await ProberApp.StartAsync();
        await using var nginx = await NginxServer.StartAsync(port => DeploySamples.Load("nginx.conf", new Dictionary<string, string>
        {
            ["APP1"] = app.HostPort,
            ["APP2"] = app.HostPort,
            ["LISTEN"] = $"127.0.0.1:{port}",
        }));

        var page = await RawHttp.GetAsync(nginx.Address, "/", HardenedApp.AllowedHost);
        Assert.Equal(307, page.Status);
        Assert.StartsWith($"https://{HardenedApp.AllowedHost}/", page.Header("Location"), StringComparison.Ordinal);

        await app.CycleAsync(
            "nginx",
            async () => (await RawHttp.GetAsync(nginx.Address, "/health", HardenedApp.AllowedHost)).Status == 200,
            async () => $"{await RawHttp.GetAsync(nginx.Address, "/health", HardenedApp.AllowedHost)}; error log: {nginx.ErrorLog}");
    }
}

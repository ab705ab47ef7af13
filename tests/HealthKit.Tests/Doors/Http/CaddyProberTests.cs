// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// Real Caddy running samples/deploy/Caddyfile (<c>health_uri /health</c>) against a hardened app. Caddy 2.6's admin
/// API lists the upstream but not its health, so UP and DOWN are read from Caddy itself: with the only upstream
/// unhealthy it answers 503 on its own; with it healthy the request reaches the app (whose host filtering answers).
/// </summary>
public sealed class CaddyProberTests
{
    [Fact]
    public async Task HealthUri_ReadinessFailsThenPasses_UpstreamTakenOutThenBack()
    {
        await using var app = await ProberApp.StartAsync();
        await using var caddy = await CaddyServer.StartAsync(port => DeploySamples.Load("Caddyfile", new Dictionary<string, string>
        {
            ["LISTEN"] = $"http://127.0.0.1:{port}",
            ["APP"] = app.HostPort,
        }));

        Assert.Contains(app.HostPort, await caddy.GetUpstreamsAsync());
        await app.CycleAsync(
            "Caddy",
            async () => (await RawHttp.GetAsync(caddy.Address, "/", $"127.0.0.1:{caddy.Port}")).Status != 503,
            async () => $"{await RawHttp.GetAsync(caddy.Address, "/", $"127.0.0.1:{caddy.Port}")}; Caddy output: {caddy.Output}");
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// Real Varnish running samples/deploy/varnish.vcl, with its <c>.url</c> probe and with a hand-written <c>.request</c>
/// that has no Host line, against a hardened app: healthy, sick, healthy with readiness, as <c>varnishadm backend.list</c> says.
/// </summary>
public sealed class VarnishProberTests
{
    private const string SampleProbe = """.url = "/health";""";

    [Theory]
    [InlineData(SampleProbe)]
    [InlineData(""".request = "GET /health HTTP/1.1" "Connection: close";""")]
    public async Task Probe_UrlOrRequestWithoutHost_HealthyThenSickThenHealthy(string probe)
    {
        await using var app = await ProberApp.StartAsync();
        var vcl = DeploySamples.Load("varnish.vcl", new Dictionary<string, string> { ["APP_HOST"] = "127.0.0.1", ["APP_PORT"] = app.App.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Contains(SampleProbe, vcl);
        await using var varnish = await VarnishServer.StartAsync(vcl.Replace(SampleProbe, probe, StringComparison.Ordinal));

        await app.CycleAsync(
            $"Varnish ({probe})",
            async () => (await varnish.GetBackendHealthAsync("app")) == "healthy",
            async () => $"{await varnish.GetBackendHealthAsync("app")}; varnishd output: {varnish.Output}");
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Output;

namespace HealthKit.Tests.Balancers;

/// <summary>The probers and the balancer warnings in the authorized health+json document and on the status page, in headless Chromium.</summary>
public sealed class BalancerStatusPageTests
{
    /// <summary>When set, a screenshot of the status page with its probers is written to this path.</summary>
    private const string ScreenshotVariable = "HEALTHKIT_BALANCERS_SCREENSHOT";

    [Fact]
    public async Task DetailsAndStatusPage_ShowProbersAndWarnings()
    {
        await using var app = await DetailsApp.StartWithLoopbackAsync();
        var host = $"127.0.0.1:{app.Address.Port}";
        for (var i = 0; i < 3; i++)
        {
            await RawHttp.GetAsync(app.Address, "/health", host, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");
            await RawHttp.GetAsync(app.Address, "/health", host, extraHeaders: "User-Agent: kube-probe/1.31\r\n");
            await RawHttp.GetAsync(app.Address, "/health/live", host, extraHeaders: "User-Agent: kube-probe/1.31\r\n");
            await RawHttp.SendAsync(app.Address, "GET /health HTTP/1.0\r\n\r\n");
            await RawHttp.GetAsync(app.Address, "/healthcheck", host, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");
        }

        await ServerHost.WaitUntilAsync("the warning", () => Task.FromResult(app.Logs.GetSnapshot().Any(r => r.Id.Name == "ProberMisdirected")), TimeSpan.FromSeconds(10));

        var document = await RawHttp.GetAsync(app.ProbeAddress, "/health", "localhost");
        using var json = JsonDocument.Parse(document.Body);
        var balancers = json.RootElement.GetProperty("balancers");
        var probers = balancers.GetProperty("probers").EnumerateArray().ToList();
        Assert.Contains(probers, p => p.GetProperty("userAgent").GetString() == "ELB-HealthChecker/2.0" && p.GetProperty("path").GetString() == "/health"
            && p.GetProperty("lastStatus").GetInt32() == 503 && p.GetProperty("probes").GetInt64() == 3);
        Assert.Contains(probers, p => p.GetProperty("kind").GetString() == "HAProxy" && p.GetProperty("peer").GetString() == "loopback");
        Assert.Contains(probers, p => p.GetProperty("asks").GetString() == "liveness");
        Assert.Contains(balancers.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("eventId").GetInt32() == 460);

        var url = new Uri(app.ProbeAddress, "/health/ui");
        var dom = await HeadlessChromium.DumpDomAsync(url);
        foreach (var expected in new[] { "Balancers", "ELB-HealthChecker/2.0", "kube-probe/1.31", "HAProxy", "/healthcheck and gets 404", "Kubernetes kubelet" })
        {
            Assert.Contains(expected, dom, StringComparison.Ordinal);
        }

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } file)
        {
            await HeadlessChromium.ScreenshotAsync(url, 1100, 1100, file);
        }
    }
}

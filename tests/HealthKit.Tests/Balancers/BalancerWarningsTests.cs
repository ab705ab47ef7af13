// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace HealthKit.Tests.Balancers;

/// <summary>
/// The misdirected-probe warning (event 460) on real Kestrel and behind a real HAProxy: a known prober that the app
/// answers with anything but 200 or 503 is named once, with its path, its answer and the fix; a browser or a client on
/// the same paths never is.
/// </summary>
public sealed class BalancerWarningsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ElbAndKubeletOnTheAppsPaths_WarnOnceEach_BrowsersNever()
    {
        await using var app = await LifecycleApp.StartAsync("app");
        var host = $"127.0.0.1:{app.Address.Port}";
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(404, (await RawHttp.GetAsync(app.Address, "/healthcheck", host, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n")).Status);
            Assert.Equal(404, (await RawHttp.GetAsync(app.Address, "/healthz", host, extraHeaders: "User-Agent: kube-probe/1.31\r\nAccept: */*\r\n")).Status);
            await RawHttp.GetAsync(app.Address, "/healthcheck", "localhost", extraHeaders: "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36\r\n");
            await RawHttp.GetAsync(app.Address, "/healthz", "localhost", extraHeaders: "User-Agent: curl/8.5.0\r\n");
            await RawHttp.GetAsync(app.Address, "/", "localhost", "OPTIONS", extraHeaders: "Origin: https://shop.example\r\nAccess-Control-Request-Method: POST\r\n");
        }

        await ServerHost.WaitUntilAsync("two warnings", () => Task.FromResult(Misdirected(app).Count >= 2), Bound);
        var warnings = Misdirected(app);
        foreach (var warning in warnings)
        {
            output.WriteLine(warning.Message);
        }

        Assert.Equal(2, warnings.Count);
        Assert.Single(warnings, w => w.Message.Contains("ELB-HealthChecker/2.0", StringComparison.Ordinal)
            && w.Message.Contains("/healthcheck and gets 404", StringComparison.Ordinal)
            && w.Message.Contains("health check path to /health", StringComparison.Ordinal));
        Assert.Single(warnings, w => w.Message.Contains("kube-probe/1.31", StringComparison.Ordinal)
            && w.Message.Contains("/healthz and gets 404", StringComparison.Ordinal)
            && w.Message.Contains("readinessProbe.httpGet.path to /health", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Message.Contains("Mozilla", StringComparison.Ordinal) || w.Message.Contains("curl", StringComparison.Ordinal));
    }

    /// <summary>HAProxy's bare <c>option httpchk</c> sends <c>OPTIONS / HTTP/1.0</c> with no headers: the app's root answers 405.</summary>
    [Fact]
    public async Task BareHaproxyOptionHttpchk_WarnsWithTheHaproxyLine()
    {
        await using var app = await LifecycleApp.StartAsync("app");
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                option httpchk
                server a 127.0.0.1:{app.Address.Port} check inter 300 fall 2 rise 2
            """));

        await ServerHost.WaitUntilAsync("the warning", () => Task.FromResult(Misdirected(app).Count > 0), Bound);
        await haproxy.WaitForServerStatusAsync("be", "a", s => s.StartsWith("DOWN", StringComparison.Ordinal), Bound);

        // Once, not once per probe: more of the same misdirected probes have arrived since.
        await ProbeCount.WaitForMoreAsync(app, ProberKind.Haproxy, 3);

        var warning = Assert.Single(Misdirected(app));
        output.WriteLine(warning.Message);
        Assert.Contains("HAProxy", warning.Message, StringComparison.Ordinal);
        Assert.Contains("probes / and gets 405", warning.Message, StringComparison.Ordinal);
        Assert.Contains("option httpchk GET /health", warning.Message, StringComparison.Ordinal);
    }

    private static List<FakeLogRecord> Misdirected(KestrelApp app) =>
        app.Logs.GetSnapshot().Where(r => r.Id.Name == "ProberMisdirected").ToList();
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers.Binary;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Output;

/// <summary>
/// The status page at <c>{Path}/ui</c> as a person sees it: rendered by a real headless Chromium at phone width,
/// server-rendered HTML that refreshes itself, every value encoded. Who may see it is covered in <see cref="DetailsTests"/>.
/// </summary>
public sealed class StatusPageTests
{
    /// <summary>When set, the phone-width screenshot is also copied to this path (how docs/images/status-page.png is made).</summary>
    private const string ScreenshotCopyVariable = "HEALTHKIT_STATUS_PAGE_SCREENSHOT";

    private const int PhoneWidth = 390;
    private const int PhoneHeight = 844;

    [Fact]
    public async Task Page_InHeadlessChromium_ShowsEveryCheckAndStatus_AtPhoneWidth()
    {
        await using var app = await DetailsApp.StartWithLoopbackAsync(checks: AddOperatorChecks);
        var url = new Uri(app.ProbeAddress, "/health/ui");

        var dom = await HeadlessChromium.DumpDomAsync(url);

        Assert.Contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", dom);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"10\">", dom);
        foreach (var expected in new[] { "orders-db", "redis", "payments-api", ">Healthy<", ">Degraded<", ">Unhealthy<", "Connection refused" })
        {
            Assert.Contains(expected, dom);
        }

        Assert.DoesNotContain("cache-primary", dom);

        var directory = ServerHost.CreateTempDirectory("screenshot");
        try
        {
            var file = Path.Combine(directory.FullName, "status-page.png");
            await HeadlessChromium.ScreenshotAsync(url, PhoneWidth, PhoneHeight, file);

            var png = await File.ReadAllBytesAsync(file);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png.AsSpan(0, 8).ToArray());
            Assert.Equal(PhoneWidth, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
            Assert.Equal(PhoneHeight, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));

            // A blank page compresses to a few hundred bytes; the rendered page with its text and badges does not.
            Assert.InRange(png.Length, 10_000, 5_000_000);

            if (Environment.GetEnvironmentVariable(ScreenshotCopyVariable) is { Length: > 0 } copy)
            {
                File.Copy(file, copy, overwrite: true);
            }
        }
        finally
        {
            ServerHost.DeleteTempDirectory(directory);
        }
    }

    [Fact]
    public async Task Page_CheckNameAndOutputWithMarkup_Encoded()
    {
        await using var app = await DetailsApp.StartWithLoopbackAsync(checks: health =>
            health.AddCheck("<img src=x onerror=alert(1)>", () => HealthCheckResult.Unhealthy("<script>alert('output')</script>")));

        var response = await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", app.ProbeAddress.Authority);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("<img", response.Body);
        Assert.DoesNotContain("<script", response.Body);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", response.Body);
    }

    [Fact]
    public async Task Page_Head_HeadersWithoutBody()
    {
        await using var app = await DetailsApp.StartWithLoopbackAsync();

        var get = await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", app.ProbeAddress.Authority);
        var head = await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", app.ProbeAddress.Authority, method: "HEAD");

        Assert.Equal(200, head.Status);
        Assert.Equal("text/html; charset=utf-8", head.Header("Content-Type"));
        Assert.Equal("no-store", head.Header("Cache-Control"));
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(string.Empty, head.Body);
    }

    /// <summary>What an operator's page typically shows: a database, a cache that is down, a slow dependency.</summary>
    private static void AddOperatorChecks(DeployHealthBuilder health)
    {
        health.AddAsyncCheck("orders-db", async () =>
        {
            await Task.Delay(4);
            return HealthCheckResult.Healthy("The database answers.");
        }, tags: ["db"]);
        health.AddCheck("redis", () => HealthCheckResult.Unhealthy("Connection refused (cache-primary:6379)"), tags: ["cache"]);
        health.AddAsyncCheck("payments-api", async () =>
        {
            await Task.Delay(40);
            return HealthCheckResult.Degraded("p95 latency 1.8 s over the last minute (limit 1 s).");
        });
    }
}

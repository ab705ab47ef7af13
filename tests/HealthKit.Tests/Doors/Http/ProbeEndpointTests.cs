// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// The probe cases of the foundation, on real Kestrel, in each template's pipeline hardened the way production
/// apps are: the probe gets its answer, and every path that is not exactly a probe path still meets the app.
/// </summary>
public sealed class ProbeEndpointTests
{
    private const string AlbHost = "10.0.3.7:8080";

    public static TheoryData<TemplateStyle> Styles => new() { TemplateStyle.Web, TemplateStyle.WebApp, TemplateStyle.Mvc };

    public static TheoryData<TemplateStyle, string> StylesAndProbePaths()
    {
        var data = new TheoryData<TemplateStyle, string>();
        foreach (var style in Enum.GetValues<TemplateStyle>())
        {
            foreach (var path in new[] { "/health", "/health/", "/health/ready", "/health/live", "/HEALTH", "/Health/Live", "/health?probe=1", "/%68ealth" })
            {
                data.Add(style, path);
            }
        }

        return data;
    }

    // "/%68ealth" is "/health": Kestrel decodes escaped unreserved characters before any middleware, as routing sees it.
    [Theory]
    [MemberData(nameof(StylesAndProbePaths))]
    public async Task Probe_PlainHttpWithAlbIpHost_Answers200PassNoStore(TemplateStyle style, string path)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, path, AlbHost, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"pass"}""", response.Body);
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal("application/health+json", response.Header("Content-Type"));
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Probe_Http10WithoutHost_AsHaproxyHttpchk_Answers200(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, "/health", host: null, version: "HTTP/1.0");

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"pass"}""", response.Body);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Probe_KubeletWithPodIpHost_Answers200(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var live = await RawHttp.GetAsync(app.Address, "/health/live", "10.244.1.17:8080", extraHeaders: "User-Agent: kube-probe/1.31\r\nAccept: */*\r\n");
        var ready = await RawHttp.GetAsync(app.Address, "/health/ready", "10.244.1.17:8080", extraHeaders: "User-Agent: kube-probe/1.31\r\nAccept: */*\r\n");

        Assert.Equal(200, live.Status);
        Assert.Equal(200, ready.Status);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Probe_Head_SameStatusAndHeadersWithoutBody(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var get = await RawHttp.GetAsync(app.Address, "/health", AlbHost);
        var head = await RawHttp.GetAsync(app.Address, "/health", AlbHost, method: "HEAD");

        Assert.Equal(200, head.Status);
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(get.Header("Content-Type"), head.Header("Content-Type"));
        Assert.Equal("no-store", head.Header("Cache-Control"));
        Assert.Equal(string.Empty, head.Body);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("TRACE")]
    public async Task Probe_OtherMethod_Answers405WithAllow(string method)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var response = await RawHttp.GetAsync(app.Address, "/health", AlbHost, method: method, extraHeaders: "Content-Length: 0\r\n");

        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Probe_ManyMoreThanRateLimit_NeverMeetsTheLimiter(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        for (var i = 0; i < HardenedApp.RateLimit * 4; i++)
        {
            var response = await RawHttp.GetAsync(app.Address, "/health", AlbHost);
            Assert.Equal(200, response.Status);
        }
    }

    public static TheoryData<TemplateStyle, string> StylesAndLookalikePaths()
    {
        var data = new TheoryData<TemplateStyle, string>();
        foreach (var style in Enum.GetValues<TemplateStyle>())
        {
            foreach (var path in new[] { "/healthz", "/health2", "/health/x", "/health/live/x", "/health/ready/x", "/health%2Flive", "/health%2F", "//health", "/health//", "/", "/health/live//" })
            {
                data.Add(style, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StylesAndLookalikePaths))]
    public async Task Lookalike_WithIpHost_MeetsHostFiltering400(TemplateStyle style, string path)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, path, AlbHost);

        Assert.Equal(400, response.Status);
    }

    [Theory]
    [MemberData(nameof(StylesAndLookalikePaths))]
    public async Task Lookalike_WithGoodHostOverHttp_MeetsHttpsRedirection(TemplateStyle style, string path)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, path, HardenedApp.AllowedHost);

        Assert.Equal(307, response.Status);
        Assert.StartsWith("https://" + HardenedApp.AllowedHost + "/", response.Header("Location"));
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Lookalike_OverHttpsFromTrustedProxy_MeetsAuthorization(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, "/health/x", HardenedApp.AllowedHost, extraHeaders: "X-Forwarded-Proto: https\r\n");

        Assert.Equal(302, response.Status);
        Assert.Contains("/Account/Login", response.Header("Location"));
    }

    [Fact]
    public async Task Probe_UnhealthyCheck_Answers503FailWithoutDetails()
    {
        await using var app = await HardenedApp.StartAsync(
            TemplateStyle.Web,
            health => health.AddCheck("db", () => HealthCheckResult.Unhealthy("Host=db.internal;Password=hunter2 refused", new InvalidOperationException("secret-exception-text"))));

        var ready = await RawHttp.GetAsync(app.Address, "/health", AlbHost);
        var live = await RawHttp.GetAsync(app.Address, "/health/live", AlbHost);

        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"fail"}""", ready.Body);
        Assert.Equal("no-store", ready.Header("Cache-Control"));
        Assert.Equal(200, live.Status);
    }

    [Fact]
    public async Task Probe_DegradedCheck_Answers200Warn()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web, health => health.AddCheck("cache", () => HealthCheckResult.Degraded("slow")));

        var response = await RawHttp.GetAsync(app.Address, "/health", AlbHost);

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"warn"}""", response.Body);
    }

    [Fact]
    public async Task Probe_PipelinedHttp11_AnswersEachInOrder()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var responses = await RawHttp.SendManyAsync(
            app.Address,
            $"GET /health HTTP/1.1\r\nHost: {AlbHost}\r\n\r\nGET /health/live HTTP/1.1\r\nHost: {AlbHost}\r\n\r\nGET /health/ready HTTP/1.1\r\nHost: {AlbHost}\r\nConnection: close\r\n\r\n",
            3);

        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.Equal("""{"status":"pass"}""", responses[2].Body);
    }

    [Fact]
    public async Task Probe_CustomPathFromConfiguration_MovesEveryProbePath()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web, configuration: new Dictionary<string, string?> { ["DeployHealth:Path"] = "/_status" });

        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/_status", AlbHost)).Status);
        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/_status/live", AlbHost)).Status);
        Assert.Equal(400, (await RawHttp.GetAsync(app.Address, "/health", AlbHost)).Status);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// OPTIONS as a probe, on the wire, against the hardened template apps: HAProxy's <c>option httpchk /health</c> sends
/// <c>OPTIONS /health HTTP/1.0</c>, Apache's <c>hcmethod=OPTIONS</c> sends <c>OPTIONS * HTTP/1.0</c> with the backend's
/// address as Host. Both get readiness; nothing else about OPTIONS changes.
/// </summary>
public sealed class ProbeMiddlewareTests
{
    private const string IpHost = "127.0.0.1:8080";

    public static TheoryData<TemplateStyle> Styles => new() { TemplateStyle.Web, TemplateStyle.WebApp, TemplateStyle.Mvc };

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task InvokeAsync_OptionsAsHaproxyHttpchkPathOnly_Answers200WithAllowAndNoBody(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.GetAsync(app.Address, "/health", host: null, method: "OPTIONS", version: "HTTP/1.0");

        Assert.Equal(200, response.Status);
        Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal("0", response.Header("Content-Length"));
        Assert.Equal(string.Empty, response.Body);
    }

    [Theory]
    [InlineData("/health/ready")]
    [InlineData("/health/live")]
    public async Task InvokeAsync_OptionsWithIpHostOnEachProbePath_Answers200(string path)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.WebApp);

        var response = await RawHttp.GetAsync(app.Address, path, IpHost, method: "OPTIONS");

        Assert.Equal(200, response.Status);
        Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
    }

    [Fact]
    public async Task InvokeAsync_OptionsWhileUnhealthy_Answers503LikeGet()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web, health => health.AddCheck("db", () => HealthCheckResult.Unhealthy("down")));

        var get = await RawHttp.GetAsync(app.Address, "/health", IpHost);
        var options = await RawHttp.GetAsync(app.Address, "/health", host: null, method: "OPTIONS", version: "HTTP/1.0");
        var live = await RawHttp.GetAsync(app.Address, "/health/live", host: null, method: "OPTIONS", version: "HTTP/1.0");

        Assert.Equal(503, get.Status);
        Assert.Equal(503, options.Status);
        Assert.Equal("no-store", options.Header("Cache-Control"));
        Assert.Equal(string.Empty, options.Body);
        Assert.Equal(200, live.Status);
    }

    [Theory]
    [InlineData("HTTP/1.0")]
    [InlineData("HTTP/1.1")]
    public async Task InvokeAsync_OptionsAsteriskWithIpHostAsApacheHcheck_AnswersReadinessWithoutBody(string version)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Mvc);

        var response = await RawHttp.GetAsync(app.Address, "*", IpHost, method: "OPTIONS", version: version);

        Assert.Equal(200, response.Status);
        Assert.Equal("0", response.Header("Content-Length"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal(string.Empty, response.Body);
    }

    [Fact]
    public async Task InvokeAsync_OptionsAsteriskWhileUnhealthy_Answers503()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web, health => health.AddCheck("db", () => HealthCheckResult.Unhealthy("down")));

        var response = await RawHttp.GetAsync(app.Address, "*", IpHost, method: "OPTIONS", version: "HTTP/1.0");

        Assert.Equal(503, response.Status);
        Assert.Equal(string.Empty, response.Body);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task InvokeAsync_OptionsOnAppPathWithIpHost_StillMeetsHostFiltering400(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var root = await RawHttp.GetAsync(app.Address, "/", IpHost, method: "OPTIONS");
        var lookalike = await RawHttp.GetAsync(app.Address, "/healthz", IpHost, method: "OPTIONS");

        Assert.Equal(400, root.Status);
        Assert.Equal(400, lookalike.Status);
    }

    [Theory]
    [InlineData("OPTIONS")]
    [InlineData("head")]
    [InlineData("get")]
    public async Task StatusPage_OptionsOrLowerCaseMethod_Answers405WithPageMethods(string method)
    {
        // The status page is for people: GET and HEAD only, and method case counts there too (never a 500).
        // A details policy: on the app's own port the page exists only with one (loopback details are the probe listener's).
        await using var app = await KestrelApp.StartAsync(
            b =>
            {
                b.Services.AddAuthorizationBuilder().AddPolicy("Operators", p => p.RequireRole("operators"));
                b.Services.AddDeployHealth();
            },
            configuration: new Dictionary<string, string?> { ["DeployHealth:DetailsPolicy"] = "Operators" });

        var response = await RawHttp.GetAsync(app.Address, "/health/ui", "localhost", method: method);

        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD", response.Header("Allow"));
    }
}

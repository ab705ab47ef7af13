// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Output;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// The status page <c>{Path}/ui</c> is a page for people: in a production-shaped app (<see cref="HardenedApp"/>:
/// AllowedHosts, HTTPS redirection, forwarded headers from loopback, a fallback policy) it meets host filtering and
/// HTTPS redirection like any page, while the probes are still answered in front of all of them.
/// </summary>
public sealed class StatusPageMiddlewareTests
{
    private const string Proxied = "X-Forwarded-Proto: https\r\n";

    [Theory]
    [InlineData(TemplateStyle.Web)]
    [InlineData(TemplateStyle.WebApp)]
    [InlineData(TemplateStyle.Mvc)]
    public async Task Page_HostNotAllowed_400FromHostFiltering_NoLocationOnThatHost(TemplateStyle style)
    {
        await using var app = await StartAsync(style);

        // Tried: the attacker's Host over plain HTTP and, as a proxy on loopback would forward it, over HTTPS.
        var plain = await RawHttp.GetAsync(app.Address, "/health/ui", "evil.example", extraHeaders: "Accept: text/html\r\n");
        var proxied = await RawHttp.GetAsync(app.Address, "/health/ui", "evil.example", extraHeaders: Proxied + "Accept: text/html\r\n");
        var probe = await RawHttp.GetAsync(app.Address, "/health", "evil.example");

        Assert.Equal(400, plain.Status);
        Assert.Equal(400, proxied.Status);
        Assert.Null(plain.Header("Location"));
        Assert.Null(proxied.Header("Location"));

        // The balancer's probe is still answered in front of host filtering.
        Assert.Equal(200, probe.Status);
    }

    [Fact]
    public async Task Page_PlainHttp_RedirectedToHttpsByTheApp()
    {
        await using var app = await StartAsync(TemplateStyle.WebApp);

        var page = await RawHttp.GetAsync(app.Address, "/health/ui", HardenedApp.AllowedHost, extraHeaders: "Accept: text/html\r\n");

        Assert.Equal(307, page.Status);
        Assert.Equal("https://www.example.com/health/ui", page.Header("Location"));
    }

    [Fact]
    public async Task Page_HttpsWithoutCredentials_LoginChallengeOnTheAllowedHostOverHttps()
    {
        await using var app = await StartAsync(TemplateStyle.WebApp);

        var page = await RawHttp.GetAsync(app.Address, "/health/ui", HardenedApp.AllowedHost, extraHeaders: Proxied + "Accept: text/html\r\n");

        Assert.Equal(302, page.Status);
        Assert.StartsWith("https://www.example.com/Account/Login?ReturnUrl=%2Fhealth%2Fui", page.Header("Location"));
    }

    [Fact]
    public async Task Page_HttpsOperator_PageServed_UserForbidden()
    {
        await using var app = await StartAsync(TemplateStyle.WebApp);

        var operatorPage = await RawHttp.GetAsync(app.Address, "/health/ui", HardenedApp.AllowedHost, extraHeaders: $"{Proxied}Authorization: Bearer {TokenAuthenticationHandler.OperatorToken}\r\n");
        var userPage = await RawHttp.GetAsync(app.Address, "/health/ui", HardenedApp.AllowedHost, extraHeaders: $"{Proxied}Authorization: Bearer {TokenAuthenticationHandler.UserToken}\r\n");

        Assert.Equal(200, operatorPage.Status);
        Assert.Equal("text/html; charset=utf-8", operatorPage.Header("Content-Type"));
        Assert.Contains("www.example.com", operatorPage.Body);
        Assert.Contains("Strict-Transport-Security", string.Join(",", operatorPage.Headers.Keys), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(403, userPage.Status);
    }

    [Fact]
    public async Task Page_AppAnswersThePathItself_AppsAnswerStands()
    {
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                // A details policy: the app's own port has a status page only with one (loopback details live on the probe listener).
                builder.Services.AddAuthorizationBuilder().AddPolicy("Operators", p => p.RequireRole("operators"));
                builder.Services.AddDeployHealth(o => o.DetailsPolicy = "Operators");
            },
            web => Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(web, "/health/ui", () => "the app's own page"));

        var page = await RawHttp.GetAsync(app.Address, "/health/ui", app.Address.Authority);

        Assert.Equal(200, page.Status);
        Assert.Equal("the app's own page", page.Body);
    }

    [Fact]
    public async Task Page_FreshAppInDevelopment_NoPageUntilTheSamplesLoopbackProbeListenerKeys()
    {
        // Tried: what README promises a fresh app in Development, from 127.0.0.1: no page on the app's port (loopback
        // proves nothing there); with the sample's appsettings.Development.json keys, the page on the probe listener.
        var sample = new Dictionary<string, string?>
        {
            ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            ["DeployHealth:ProbeListener:DetailsForLoopback"] = "true",
        };
        await using var fresh = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth(), environment: "Development");
        await using var configured = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth(), configuration: sample, environment: "Development");

        var freshPage = await RawHttp.GetAsync(fresh.Address, "/health/ui", "localhost", extraHeaders: "Accept: text/html\r\n");
        var mainPort = await RawHttp.GetAsync(configured.Address, "/health/ui", "localhost", extraHeaders: "Accept: text/html\r\n");
        var probePort = await RawHttp.GetAsync(configured.ProbeAddress, "/health/ui", "127.0.0.1", extraHeaders: "Accept: text/html\r\n");

        Assert.Equal(404, freshPage.Status);
        Assert.Equal(404, mainPort.Status);
        Assert.Equal(200, probePort.Status);
        Assert.StartsWith("text/html", probePort.Header("Content-Type"), StringComparison.Ordinal);
    }

    /// <summary>
    /// The hardened template with details for an operator role: a bearer token goes to the token scheme, a browser
    /// to the cookie scheme (the usual "API and browser" default-scheme selector), so the app's fallback policy and
    /// HealthKit's details policy both see the same user.
    /// </summary>
    private static Task<KestrelApp> StartAsync(TemplateStyle style) => HardenedApp.StartAsync(
        style,
        health =>
        {
            health.Services.AddAuthentication()
                .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null)
                .AddPolicyScheme("BearerOrCookie", null, o => o.ForwardDefaultSelector = c =>
                    c.Request.Headers.Authorization.Count > 0 ? TokenAuthenticationHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme);
            health.Services.Configure<AuthenticationOptions>(o => o.DefaultScheme = "BearerOrCookie");
            health.Services.AddAuthorizationBuilder().AddPolicy("Operators", p => p.RequireRole(TokenAuthenticationHandler.OperatorRole));
        },
        new Dictionary<string, string?> { ["DeployHealth:DetailsPolicy"] = "Operators", ["DeployHealth:AutoDiscover"] = "false" });
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Claims;
using HealthKit.Evaluation;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Smoke;

/// <summary>
/// Smoke renders of a real site (tests/HealthKit.TestSite): Razor Pages with antiforgery, session and
/// IHttpContextAccessor, an MVC view, a minimal API endpoint, behind AllowedHosts and HTTPS redirection.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class SiteSmokeTests
{
    private static async Task<(HealthReportEntry Entry, HttpResponseMessage Probe)> RenderAsync(string path, Action<SmokePageOptions>? page = null)
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            web.UseSetting("AllowedHosts", "shop.example.com");
            web.UseSetting("https_port", "443");
            web.UseSetting("DeployHealth:Drain:Delay", "00:00:00");
            // A cold first render (MVC, Razor compilation) on a loaded CI machine can take seconds: these tests are
            // about what a render sees, so neither the page's nor the evaluation's deadline may decide them.
            web.UseSetting("DeployHealth:CheckDeadline", "00:00:30");
            web.UseSetting("DeployHealth:BalancerProbeTimeout", "00:01:00");
            web.ConfigureServices(services => services.AddDeployHealth().AddSmokePage(path, p =>
            {
                p.Timeout = TimeSpan.FromSeconds(20);
                page?.Invoke(p);
            }));
        });
        using var client = factory.CreateClient();
        var report = (await factory.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report;
        var probe = await client.GetAsync(new Uri("http://10.0.3.7:8080/health"));
        return (report.Entries["smoke " + path], probe);
    }

    private static ClaimsPrincipal Shopper(IServiceProvider _) => new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "smoke-shopper")], "Smoke"));

    [Fact]
    public async Task RazorPage_WithAntiforgerySessionAndAccessor_Renders()
    {
        var (entry, probe) = await RenderAsync("/", p => p.ExpectedText = "Served to shop.example.com over https, session yes.");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.True(probe.IsSuccessStatusCode);
    }

    [Fact]
    public async Task MvcView_Renders()
    {
        var (entry, _) = await RenderAsync("/mvc/Home", p => p.ExpectedText = "MVC catalogue");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
    }

    [Fact]
    public async Task MinimalApiEndpoint_Renders()
    {
        var (entry, _) = await RenderAsync("/api/ping", p => p.ExpectedText = "\"pong\":true");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
    }

    [Fact]
    public async Task MvcViewMissing_FailsNamingTheView()
    {
        var (entry, probe) = await RenderAsync("/mvc/Home/Missing");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("The view 'Missing' was not found", entry.Description);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, probe.StatusCode);
    }

    [Fact]
    public async Task PageReadingMissingConfiguration_FailsWithTheFirstLine()
    {
        var (entry, _) = await RenderAsync("/Throws");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.EndsWith("threw InvalidOperationException: Payments:Endpoint is not configured.", entry.Description);
    }

    [Fact]
    public async Task RouteRemoved_404Fails()
    {
        var (entry, _) = await RenderAsync("/Checkout");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("→ 404", entry.Description);
    }

    [Fact]
    public async Task AuthorizedPage_WithoutPrincipal_RedirectFails_WithPrincipal_Renders()
    {
        var (anonymous, _) = await RenderAsync("/Secure");
        var (signedIn, _) = await RenderAsync("/Secure", p => { p.Principal = Shopper; p.ExpectedText = "Orders for smoke-shopper"; });

        Assert.Equal(HealthStatus.Unhealthy, anonymous.Status);
        Assert.Contains("→ 302", anonymous.Description);
        Assert.Equal(HealthStatus.Healthy, signedIn.Status);
    }
}

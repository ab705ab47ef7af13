// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A template app locked down the way production apps are: HTTPS redirection with a known HTTPS port, HSTS,
/// AllowedHosts restricted to a real host name, forwarded headers, a fallback policy requiring an authenticated
/// user, and a global rate limiter that lets through only a few requests. HealthKit is added with the one line.
/// </summary>
public static class HardenedApp
{
    public const string AllowedHost = "www.example.com";

    /// <summary>Permits per window of the global rate limiter: far fewer than the probes a test sends.</summary>
    public const int RateLimit = 3;

    public static Task<KestrelApp> StartAsync(TemplateStyle style, Action<DeployHealthBuilder>? health = null, IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AllowedHosts"] = AllowedHost,
            ["https_port"] = "443",
        };
        if (configuration is not null)
        {
            foreach (var pair in configuration)
            {
                settings[pair.Key] = pair.Value;
            }
        }

        return KestrelApp.StartAsync(
            builder =>
            {
                var services = builder.Services;
                services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);
                // Configured as production apps behind a balancer must be: one key ring and application name for all
                // instances, so HealthKit's Data Protection check passes and probes report "pass".
                services.AddDataProtection()
                    .SetApplicationName("healthkit-hardened")
                    .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(AppContext.BaseDirectory, "shared-keys")));
                services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
                services.AddRateLimiter(o =>
                {
                    o.GlobalLimiter = PartitionedRateLimiter.Create<Microsoft.AspNetCore.Http.HttpContext, string>(_ =>
                        RateLimitPartition.GetFixedWindowLimiter("all", _ => new FixedWindowRateLimiterOptions { PermitLimit = RateLimit, Window = TimeSpan.FromMinutes(10) }));
                    o.RejectionStatusCode = 429;
                });
                switch (style)
                {
                    case TemplateStyle.WebApp:
                        services.AddRazorPages();
                        break;
                    case TemplateStyle.Mvc:
                        services.AddControllersWithViews();
                        break;
                }

                var healthBuilder = services.AddDeployHealth();
                health?.Invoke(healthBuilder);
            },
            app =>
            {
                app.UseForwardedHeaders();
                app.UseHsts();
                app.UseHttpsRedirection();
                app.UseRouting();
                app.UseRateLimiter();
                app.UseAuthentication();
                app.UseAuthorization();
                switch (style)
                {
                    case TemplateStyle.Web:
                        app.MapGet("/", () => "home");
                        break;
                    case TemplateStyle.WebApp:
                        app.MapRazorPages();
                        app.MapGet("/", () => "home");
                        break;
                    case TemplateStyle.Mvc:
                        app.MapControllerRoute("default", "{controller=Home}/{action=Index}/{id?}");
                        break;
                }
            },
            settings);
    }
}

/// <summary>The MVC template's home controller, enough for the MVC pipeline to route a request.</summary>
public sealed class HomeController : Controller
{
    public IActionResult Index() => Content("home");
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Output;

/// <summary>The status page refuses as the app's authorization middleware would, never with a 500.</summary>
public sealed class StatusPageRefusalTests
{
    [Fact]
    public async Task Page_PolicyNamesItsSchemes_NoDefaultScheme_ChallengesAndForbidsThoseSchemes()
    {
        // Tried: a policy bound to the "Token" scheme in an app with two schemes and no default one.
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication()
                    .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null)
                    .AddCookie("Cookies");
                builder.Services.AddAuthorization(o => o.AddPolicy("Operators", p => p
                    .AddAuthenticationSchemes(TokenAuthenticationHandler.SchemeName)
                    .RequireRole(TokenAuthenticationHandler.OperatorRole)));
                builder.Services.AddDeployHealth(o => o.DetailsPolicy = "Operators");
            },
            app => app.MapGet("/", () => "home"));

        var anonymous = await RawHttp.GetAsync(app.Address, "/health/ui", "10.0.3.7:8080");
        var user = await RawHttp.GetAsync(app.Address, "/health/ui", "10.0.3.7:8080", extraHeaders: $"Authorization: Bearer {TokenAuthenticationHandler.UserToken}\r\n");
        var operatorPage = await RawHttp.GetAsync(app.Address, "/health/ui", "10.0.3.7:8080", extraHeaders: $"Authorization: Bearer {TokenAuthenticationHandler.OperatorToken}\r\n");

        Assert.Equal(401, anonymous.Status);
        Assert.Equal(403, user.Status);
        Assert.Equal(200, operatorPage.Status);
    }

    [Fact]
    public async Task Page_PolicyInAppWithoutAuthentication_Plain401NotA500()
    {
        // Tried: an assertion-only policy in an app that never called AddAuthentication.
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddAuthorization(o => o.AddPolicy("Never", p => p.RequireAssertion(_ => false)));
                builder.Services.AddDeployHealth(o => o.DetailsPolicy = "Never");
            },
            app => app.MapGet("/", () => "home"));

        var page = await RawHttp.GetAsync(app.Address, "/health/ui", "10.0.3.7:8080");
        var probe = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080");

        Assert.Equal(401, page.Status);
        Assert.Equal(200, probe.Status);
        Assert.Equal("""{"status":"pass"}""", probe.Body);
    }
}

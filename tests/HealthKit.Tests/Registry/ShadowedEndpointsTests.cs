// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Registry;

/// <summary>An endpoint the app maps on HealthKit's path never runs; one warning at start says so and how to move.</summary>
public sealed class ShadowedEndpointsTests
{
    [Fact]
    public async Task StartedAsync_AppMapsHealthChecksOnHealthKitsPath_WarnsOnceNamingTheEndpointAndTheWayOut()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app =>
            {
                app.MapHealthChecks("/health");
                app.MapGet("/", () => "home");
            });
        await app.Services.GetRequiredService<ShadowedEndpoints>().Reported.WaitAsync(TimeSpan.FromSeconds(30));

        var warning = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "EndpointShadowed");
        Assert.Contains("endpoint 'Health checks' on /health", warning.Message);
        Assert.Contains("DeployHealth:Path", warning.Message);
        Assert.Equal(112, warning.Id.Id);
    }

    [Fact]
    public async Task StartedAsync_MapGetOnTheLivenessPath_Warns()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app => app.MapGet("/health/live", () => "mine"));
        await app.Services.GetRequiredService<ShadowedEndpoints>().Reported.WaitAsync(TimeSpan.FromSeconds(30));

        var warning = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "EndpointShadowed");
        Assert.Contains("/health/live", warning.Message);
    }

    [Theory]
    [InlineData("/healthz", null)]
    [InlineData("/health/x", null)]
    [InlineData("/health", "/healthkit")]
    public async Task StartedAsync_AppEndpointOffHealthKitsPaths_NoWarning(string appPath, string? healthKitPath)
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app => app.MapHealthChecks(appPath),
            configuration: healthKitPath is null ? null : new Dictionary<string, string?> { ["DeployHealth:Path"] = healthKitPath });
        await app.Services.GetRequiredService<ShadowedEndpoints>().Reported.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name == "EndpointShadowed");
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Configuration;

/// <summary>Required configuration and invalid options stop the host at start, in-process.</summary>
public sealed class DeployHealthOptionsValidatorTests
{
    private static async Task<OptionsValidationException> StartExpectingFailureAsync(Dictionary<string, string?> configuration, Action<DeployHealthBuilder>? health = null)
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelApp.StartAsync(
            builder =>
            {
                var deployHealth = builder.Services.AddDeployHealth();
                health?.Invoke(deployHealth);
            },
            configuration: configuration));
        return exception;
    }

    [Fact]
    public async Task Start_TwoRequiredKeysMissingOneWhitespace_OneMessageNamesEachWithEnvironmentSpelling()
    {
        // Tried: three required keys, one absent, one whitespace, one set to a secret; two from configuration, one from code.
        var exception = await StartExpectingFailureAsync(
            new()
            {
                ["DeployHealth:RequiredConfiguration:0"] = "ConnectionStrings:Default",
                ["DeployHealth:RequiredConfiguration:1"] = "Payments:ApiKey",
                ["Payments:ApiKey"] = "   ",
                ["Smtp:Password"] = "s3cret-value",
            },
            health => health.RequireConfiguration("Smtp:Password"));

        var message = Assert.Single(exception.Failures);
        Assert.Contains("'ConnectionStrings:Default' (environment variable ConnectionStrings__Default)", message);
        Assert.Contains("'Payments:ApiKey' (environment variable Payments__ApiKey)", message);
        Assert.DoesNotContain("Smtp", message);
        Assert.DoesNotContain("s3cret-value", exception.Message);
    }

    [Fact]
    public async Task Start_RequiredKeyIsSectionWithChildren_CountsAsPresent()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().RequireConfiguration("Payments"),
            configuration: new Dictionary<string, string?> { ["Payments:ApiKey"] = "x", ["Payments:Region"] = "eu" });

        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Status);
    }

    [Theory]
    [InlineData("DeployHealth:Path", "health", "DeployHealth:Path must start with '/'")]
    [InlineData("DeployHealth:Path", "/", "DeployHealth:Path must not be '/'")]
    [InlineData("DeployHealth:Path", "/a b", "DeployHealth:Path must be a plain path")]
    [InlineData("DeployHealth:Path", "/health?x=1", "DeployHealth:Path must be a plain path")]
    [InlineData("DeployHealth:Timeout", "-00:00:01", "DeployHealth:Timeout must be positive")]
    [InlineData("DeployHealth:ProbeTimeout", "00:00:00", "DeployHealth:ProbeTimeout must be positive")]
    [InlineData("DeployHealth:CacheDuration", "-00:00:02", "DeployHealth:CacheDuration must not be negative")]
    [InlineData("DeployHealth:Checks:db:FailureThreshold", "0", "DeployHealth:Checks:db:FailureThreshold must be at least 1")]
    [InlineData("DeployHealth:Checks:db:Timeout", "-00:00:01", "DeployHealth:Checks:db:Timeout must be positive")]
    public async Task Start_InvalidOption_FailsNamingTheKey(string key, string value, string expected)
    {
        var exception = await StartExpectingFailureAsync(new() { [key] = value });

        Assert.Contains(expected, exception.Message);
    }

    [Fact]
    public async Task Start_SeveralInvalidOptionsAndMissingKey_AllReportedTogether()
    {
        var exception = await StartExpectingFailureAsync(new()
        {
            ["DeployHealth:Path"] = "health",
            ["DeployHealth:Timeout"] = "-00:00:01",
            ["DeployHealth:RequiredConfiguration:0"] = "Api:Key",
        });

        Assert.Equal(3, exception.Failures.Count());
    }

    [Fact]
    public async Task Start_ValidationFails_ServerNeverStarts()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddDeployHealth().RequireConfiguration("Missing:Key");
        await using var app = builder.Build();

        await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Empty(app.Urls);
    }

    [Fact]
    public void RequireConfiguration_BadArguments_Throw()
    {
        var health = new ServiceCollection().AddDeployHealth();

        Assert.Throws<ArgumentNullException>(() => health.RequireConfiguration(null!));
        Assert.Throws<ArgumentException>(() => health.RequireConfiguration("ok", " "));
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddDeployHealth());
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddDeployHealth(null!));
    }

    [Fact]
    public void AddDeployHealth_CalledTwice_RegistersOnce()
    {
        var services = new ServiceCollection();
        services.AddDeployHealth();
        services.AddDeployHealth(o => o.Path = "/status");

        Assert.Single(services, d => d.ServiceType == typeof(IStartupFilter));
        Assert.Single(services, d => d.ImplementationType?.Name == "ProbeSelfTest");
        Assert.Single(services, d => d.ServiceType == typeof(IOptionsChangeTokenSource<DeployHealthOptions>));
        Assert.Equal(typeof(IStartupFilter), services[0].ServiceType);
    }
}

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
    [InlineData("DeployHealth:CheckDeadline", "-00:00:01", "DeployHealth:CheckDeadline must be positive")]
    [InlineData("DeployHealth:BalancerProbeTimeout", "00:00:00", "DeployHealth:BalancerProbeTimeout must be positive")]
    [InlineData("DeployHealth:CacheDuration", "-00:00:02", "DeployHealth:CacheDuration must not be negative")]
    [InlineData("DeployHealth:Checks:db:FailureThreshold", "0", "DeployHealth:Checks:db:FailureThreshold must be at least 1")]
    [InlineData("DeployHealth:Checks:db:Deadline", "-00:00:01", "DeployHealth:Checks:db:Deadline must be positive")]
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
            ["DeployHealth:CheckDeadline"] = "-00:00:01",
            ["DeployHealth:RequiredConfiguration:0"] = "Api:Key",
        });

        Assert.Equal(3, exception.Failures.Count());
    }

    [Theory]
    [InlineData("DeployHealth:CheckDeadline", "2", "2 day(s) (2.00:00:00)", "for 2 seconds write 00:00:02")]
    [InlineData("DeployHealth:CacheDuration", "30", "30 day(s) (30.00:00:00)", "for 30 seconds write 00:00:30")]
    [InlineData("DeployHealth:Checks:db:Deadline", " 1 ", "1 day(s) (1.00:00:00)", "for 1 seconds write 00:00:01")]
    [InlineData("DeployHealth:Certificates:WarnBeforeExpiry", "14", "14 day(s) (14.00:00:00)", "write a duration as [d.]hh:mm:ss")]
    public async Task Start_DurationIsBareNumber_FailsSayingWhatWasReadAndHowToWriteIt(string key, string value, string read, string advice)
    {
        // Tried: a container's DeployHealth__CheckDeadline=2, which .NET's TimeSpan parsing reads as two days.
        var exception = await StartExpectingFailureAsync(new() { [key] = value });

        var message = Assert.Single(exception.Failures);
        Assert.Contains($"{key} (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}) is the bare number '{value}'", message);
        Assert.Contains(read, message);
        Assert.Contains(advice, message);
    }

    [Theory]
    [InlineData("DeployHealth:CheckDeadline", "00:00:06", "longer than DeployHealth:BalancerProbeTimeout (00:00:05)")]
    [InlineData("DeployHealth:Checks:db:Deadline", "00:00:30", "longer than DeployHealth:BalancerProbeTimeout (00:00:05)")]
    [InlineData("DeployHealth:CacheDuration", "00:01:00", "longer than DeployHealth:BalancerProbeTimeout (00:00:05)")]
    [InlineData("DeployHealth:Drain:Delay", "01:00:01", "longer than an hour")]
    [InlineData("DeployHealth:BalancerProbeTimeout", "01:00:00", "longer than any balancer waits for a probe")]
    public async Task Start_DurationNoBalancerWaitsFor_FailsNamingKeyAndLimit(string key, string value, string expected)
    {
        var exception = await StartExpectingFailureAsync(new() { [key] = value });

        var message = Assert.Single(exception.Failures);
        Assert.StartsWith($"{key} (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}) is {value}", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public async Task Start_DurationsWithinTheProbeTimeout_Start()
    {
        // The limits are inclusive: a deadline or cache equal to the probe timeout, a drain of exactly an hour.
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:BalancerProbeTimeout"] = "00:00:10",
                ["DeployHealth:CheckDeadline"] = "00:00:10",
                ["DeployHealth:CacheDuration"] = "00:00:10",
                ["DeployHealth:Checks:db:Deadline"] = "00:00:10",
                ["DeployHealth:Certificates:WarnBeforeExpiry"] = "30.00:00:00",
            });

        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Status);
    }

    [Fact]
    public async Task Start_ValuesThatDoNotConvert_ReportedWithEveryOtherFailureInOneException()
    {
        // Tried: values a container gives as strings that the binder cannot convert, next to an invalid path and a
        // missing required key. The framework's binder would have thrown at the first one, from inside Build().
        var exception = await StartExpectingFailureAsync(new()
        {
            ["DeployHealth:CacheDuration"] = "banana",
            ["DeployHealth:Agent:Port"] = "abc",
            ["DeployHealth:BackgroundEvaluation"] = "yes",
            ["DeployHealth:Checks:db:PendingMigrations"] = "sometimes",
            ["DeployHealth:Checks:db:FailureThreshold"] = "two",
            ["DeployHealth:Path"] = "health",
            ["DeployHealth:RequiredConfiguration:0"] = "Api:Key",
        });

        var failures = exception.Failures.ToList();
        Assert.Contains("DeployHealth:CacheDuration (environment variable DeployHealth__CacheDuration) must be a duration written [d.]hh:mm:ss such as 00:00:02 (was 'banana')", failures);
        Assert.Contains("DeployHealth:Agent:Port (environment variable DeployHealth__Agent__Port) must be a whole number (was 'abc')", failures);
        Assert.Contains("DeployHealth:BackgroundEvaluation (environment variable DeployHealth__BackgroundEvaluation) must be true or false (was 'yes')", failures);
        Assert.Contains("DeployHealth:Checks:db:PendingMigrations (environment variable DeployHealth__Checks__db__PendingMigrations) must be one of Unhealthy, Degraded, Ignore (was 'sometimes')", failures);
        Assert.Contains("DeployHealth:Checks:db:FailureThreshold (environment variable DeployHealth__Checks__db__FailureThreshold) must be a whole number (was 'two')", failures);
        Assert.Contains(failures, f => f.StartsWith("DeployHealth:Path must start with '/'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("'Api:Key' (environment variable Api__Key)", StringComparison.Ordinal));
        Assert.Equal(7, failures.Count);
    }

    [Fact]
    public async Task Start_OneValueDoesNotConvert_OtherValuesAreStillBound()
    {
        // The value left out must not take the others with it: the bound path still shows in the failure for it.
        var exception = await StartExpectingFailureAsync(new()
        {
            ["DeployHealth:Agent:Port"] = "abc",
            ["DeployHealth:Path"] = "status",
        });

        Assert.Contains(exception.Failures, f => f.Contains("(was 'status')", StringComparison.Ordinal));
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
        Assert.Equal("ProbeStartupFilter", services.First(d => d.ServiceType == typeof(IStartupFilter)).ImplementationType?.Name);
    }
}

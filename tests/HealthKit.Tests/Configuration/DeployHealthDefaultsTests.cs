// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Configuration;

[Trait("Tier", "Fast")]
public sealed class DeployHealthDefaultsTests
{
    [Fact]
    public void DrainDelay_WebAppInProduction_NotSetSoTheDrainFollowsTheBalancers()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Services.AddDeployHealth();
        using var app = builder.Build();

        Assert.False(app.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value.Drain.DelayIsSet);
    }

    [Fact]
    public void DrainDelay_WorkerWithoutHttpServerInProduction_Zero()
    {
        // Tried: the worker template's host (no IServer registered) in Production, nothing configured.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.Services.AddDeployHealth();
        using var host = builder.Build();

        Assert.Equal(TimeSpan.Zero, host.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value.Drain.Delay);
    }

    [Fact]
    public void DrainDelay_WorkerWithConfiguredDelay_ConfigurationWins()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:05" });
        builder.Services.AddDeployHealth();
        using var host = builder.Build();

        Assert.Equal(TimeSpan.FromSeconds(5), host.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value.Drain.Delay);
    }
}

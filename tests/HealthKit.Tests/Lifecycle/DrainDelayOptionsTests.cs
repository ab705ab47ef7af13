// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The drain delay's defaults by environment, and the host's shutdown timeout extended by it, read from a built
/// (not started) application as the host itself reads them.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class DrainDelayOptionsTests
{
    private static readonly TimeSpan HostDefault = new HostOptions().ShutdownTimeout;

    [Fact]
    public async Task DrainDelay_Production_IsNotSetAndTheDrainMaximumExtendsShutdownTimeout()
    {
        await using var app = Build("Production");

        Assert.False(Options(app).Drain.DelayIsSet);
        Assert.Equal(TimeSpan.FromSeconds(30), Options(app).Drain.Maximum);
        Assert.Equal(HostDefault + TimeSpan.FromSeconds(30), ShutdownTimeout(app));
    }

    [Fact]
    public async Task DrainMaximum_Configured_ExtendsShutdownTimeout()
    {
        await using var app = Build("Production", new Dictionary<string, string?> { ["DeployHealth:Drain:Maximum"] = "00:00:12" });

        Assert.Equal(HostDefault + TimeSpan.FromSeconds(12), ShutdownTimeout(app));
    }

    [Fact]
    public async Task DrainDelay_Development_IsZeroAndLeavesShutdownTimeout()
    {
        await using var app = Build("Development");

        Assert.Equal(TimeSpan.Zero, DrainDelay(app));
        Assert.Equal(HostDefault, ShutdownTimeout(app));
    }

    [Fact]
    public async Task DrainDelay_ConfiguredInDevelopment_OverridesTheEnvironmentDefault()
    {
        await using var app = Build("Development", new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:03" });

        Assert.Equal(TimeSpan.FromSeconds(3), DrainDelay(app));
        Assert.Equal(HostDefault + TimeSpan.FromSeconds(3), ShutdownTimeout(app));
    }

    [Fact]
    public async Task ShutdownTimeout_ConfiguredByHostAndDelaySetInCode_IsTheirSum()
    {
        await using var app = Build(
            "Production",
            new Dictionary<string, string?> { ["shutdownTimeoutSeconds"] = "20" },
            services => services.AddDeployHealth(o => o.Drain.Delay = TimeSpan.FromSeconds(7)));

        Assert.Equal(TimeSpan.FromSeconds(7), DrainDelay(app));
        Assert.Equal(TimeSpan.FromSeconds(27), ShutdownTimeout(app));
    }

    [Fact]
    public async Task ShutdownTimeout_Infinite_StaysInfinite()
    {
        await using var app = Build(
            "Production",
            configureServices: services => services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan));

        Assert.Equal(Timeout.InfiniteTimeSpan, ShutdownTimeout(app));
    }

    private static WebApplication Build(
        string environment,
        Dictionary<string, string?>? configuration = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.Services.AddDeployHealth();
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    private static DeployHealthOptions Options(WebApplication app) => app.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value;

    private static TimeSpan DrainDelay(WebApplication app) => app.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value.Drain.Delay;

    private static TimeSpan ShutdownTimeout(WebApplication app) => app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
}

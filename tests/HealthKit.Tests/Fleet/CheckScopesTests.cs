// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Fleet;
using HealthKit.Registry;
using HealthKit.Tests.Checks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Fleet;

[Trait("Tier", "Fast")]
public sealed class CheckScopesTests
{
    private static (HealthCheckRegistration[] Registrations, DeployHealthOptions Options) Build(Action<IServiceCollection> register, Dictionary<string, string?>? config = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config ?? []).Build());
        services.AddLogging();
        register(services);
        using var provider = services.BuildServiceProvider();
        return ([.. provider.GetRequiredService<HealthKitRegistry>().Readiness], provider.GetRequiredService<IOptions<DeployHealthOptions>>().Value);
    }

    [Fact]
    public void Resolve_DiscoveredCacheAndAppCheck_SharedAndLocal()
    {
        var (registrations, options) = Build(s =>
        {
            s.AddDistributedSqlCacheStandIn();
            s.AddDeployHealth().AddCheck("orders", () => HealthCheckResult.Healthy());
        });

        Assert.Equal(CheckScope.Shared, Scope(registrations, options, "cache"));
        Assert.Equal(CheckScope.Local, Scope(registrations, options, "orders"));
    }

    [Fact]
    public void Resolve_ScopeSetInConfiguration_OverridesTheRegistrationsDefault()
    {
        var (registrations, options) = Build(
            s =>
            {
                s.AddDistributedSqlCacheStandIn();
                s.AddDeployHealth().AddCheck("payments-api", () => HealthCheckResult.Healthy());
            },
            new()
            {
                ["DeployHealth:Checks:cache:Scope"] = "Local",
                ["DeployHealth:Checks:payments-api:Scope"] = "shared",
            });

        Assert.Equal(CheckScope.Local, Scope(registrations, options, "cache"));
        Assert.Equal(CheckScope.Shared, Scope(registrations, options, "payments-api"));
    }

    [Fact]
    public void Resolve_RegistrationTaggedShared_SharedUnlessConfigured()
    {
        var options = new DeployHealthOptions();

        Assert.Equal(CheckScope.Shared, CheckScopes.Resolve("search", ["ready", CheckScopes.SharedTag], options));
        Assert.Equal(CheckScope.Local, CheckScopes.Resolve("search", ["ready", "shared"], options));

        options.Checks["search"] = new DeployHealthCheckOptions { Scope = CheckScope.Local };
        Assert.Equal(CheckScope.Local, CheckScopes.Resolve("search", ["ready", CheckScopes.SharedTag], options));
    }

    private static CheckScope Scope(HealthCheckRegistration[] registrations, DeployHealthOptions options, string name) =>
        CheckScopes.Resolve(name, Assert.Single(registrations, r => r.Name == name).Tags, options);
}

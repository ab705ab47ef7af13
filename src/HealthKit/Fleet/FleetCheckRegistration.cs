// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>
/// Adds the fleet's consistency check (<c>fleet</c>, Local) to HealthKit's own registry when the fleet view is on, so
/// the application's <c>HealthCheckService</c> and <c>MapHealthChecks</c> endpoints never run it. It follows
/// <c>DeployHealth:Checks:fleet:Enabled</c> like HealthKit's other checks.
/// </summary>
internal sealed class FleetCheckRegistration(IOptions<DeployHealthOptions> options) : IPostConfigureOptions<HealthKitRegistrations>
{
    public void PostConfigure(string? name, HealthKitRegistrations target)
    {
        var settings = options.Value;
        if (settings.Fleet.Enabled)
        {
            CheckDiscovery.Add(target, settings, FleetConsistencyCheck.Name, ["ready", "fleet"], static sp => ActivatorUtilities.CreateInstance<FleetConsistencyCheck>(sp));
        }
    }
}

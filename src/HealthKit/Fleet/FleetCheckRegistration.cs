// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>
/// Adds the fleet's consistency check (<c>fleet</c>, Local) when the fleet view is on. It follows
/// <c>DeployHealth:Checks:fleet:Enabled</c> like HealthKit's other checks.
/// </summary>
internal sealed class FleetCheckRegistration(IOptions<DeployHealthOptions> options) : IPostConfigureOptions<HealthCheckServiceOptions>
{
    public void PostConfigure(string? name, HealthCheckServiceOptions target)
    {
        var settings = options.Value;
        if (settings.Fleet.Enabled)
        {
            CheckDiscovery.Add(target, settings, FleetConsistencyCheck.Name, ["ready", "fleet"], static sp => ActivatorUtilities.CreateInstance<FleetConsistencyCheck>(sp));
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Registry;

/// <summary>
/// HealthKit's own checks (discovered dependencies, smoke pages, deploy safety, heartbeats), kept as options of
/// their own instead of in the application's <see cref="HealthCheckServiceOptions"/>: the application's
/// <see cref="HealthCheckService"/>, its <c>MapHealthChecks</c> endpoints and its <see cref="IHealthCheckPublisher"/>s
/// never see them, so an app's own <c>/healthz</c> runs no smoke render and no migration query. Filled by
/// <c>Configure</c> (the builder's smoke pages and heartbeats) and post-configure steps (discovery), which run
/// after the container is complete.
/// </summary>
internal sealed class HealthKitRegistrations
{
    /// <summary>Gets HealthKit's own registrations, in the order they were added.</summary>
    public IList<HealthCheckRegistration> Registrations { get; } = new List<HealthCheckRegistration>();

    /// <summary>Adds <paramref name="registration"/> unless one of the same name is already there (first wins).</summary>
    public void TryAdd(HealthCheckRegistration registration)
    {
        if (!Contains(registration.Name))
        {
            Registrations.Add(registration);
        }
    }

    public bool Contains(string name)
    {
        foreach (var existing in Registrations)
        {
            if (string.Equals(existing.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

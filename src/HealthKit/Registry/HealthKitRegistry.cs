// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Registry;

/// <summary>
/// The checks HealthKit evaluates, and for which verdict. Readiness: every check the application registered (as its
/// own <see cref="HealthCheckService"/> would run them, <c>live</c>-tagged ones included: Aspire's <c>/health</c> runs
/// all checks too) followed by HealthKit's own, except where the application registered a check of the same name,
/// which wins. Liveness: only the application's checks tagged <see cref="LiveTag"/> (the Aspire ServiceDefaults and
/// dotnet/extensions convention), never one of HealthKit's dependency checks: a database outage must not restart
/// every container.
/// </summary>
internal sealed class HealthKitRegistry(IOptions<HealthCheckServiceOptions> app, IOptions<HealthKitRegistrations> own)
{
    /// <summary>The tag by which an application's check belongs to liveness.</summary>
    public const string LiveTag = "live";

    private Lists? _lists;

    /// <summary>Gets the checks readiness evaluates.</summary>
    public IReadOnlyList<HealthCheckRegistration> Readiness => Get().Readiness;

    /// <summary>Gets the application's checks tagged <see cref="LiveTag"/>, which liveness evaluates.</summary>
    public IReadOnlyList<HealthCheckRegistration> Liveness => Get().Liveness;

    // Both option values are computed once and never change, so neither do the lists: built on first use (after the
    // container is complete), without a lock, since two threads racing build the same lists.
    private Lists Get() => Volatile.Read(ref _lists) ?? Build();

    private Lists Build()
    {
        var appRegistrations = app.Value.Registrations;
        var readiness = new List<HealthCheckRegistration>(appRegistrations.Count + own.Value.Registrations.Count);
        var liveness = new List<HealthCheckRegistration>();
        foreach (var registration in appRegistrations)
        {
            readiness.Add(registration);
            if (registration.Tags.Contains(LiveTag))
            {
                liveness.Add(registration);
            }
        }

        foreach (var registration in own.Value.Registrations)
        {
            if (!Contains(appRegistrations, registration.Name))
            {
                readiness.Add(registration);
            }
        }

        var lists = new Lists(readiness.ToArray(), liveness.ToArray());
        Volatile.Write(ref _lists, lists);
        return lists;
    }

    private static bool Contains(ICollection<HealthCheckRegistration> registrations, string name)
    {
        foreach (var existing in registrations)
        {
            if (string.Equals(existing.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private sealed record Lists(HealthCheckRegistration[] Readiness, HealthCheckRegistration[] Liveness);
}

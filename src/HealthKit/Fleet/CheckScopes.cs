// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Fleet;

/// <summary>
/// Says the scope of a check's failure: <see cref="CheckScope.Local"/> when the result itself says its cause is this
/// instance's (<see cref="LocalFindingKey"/>), else <c>DeployHealth:Checks:{name}:Scope</c> when set, else the default
/// its registration declares with the <see cref="SharedTag"/> tag, else <see cref="CheckScope.Local"/>.
/// </summary>
internal static class CheckScopes
{
    /// <summary>
    /// The tag by which a registration declares that its default scope is <see cref="CheckScope.Shared"/>. A tag,
    /// because the tags travel with every <c>HealthReportEntry</c> into the snapshot the fleet judge reads, so the
    /// default needs no second table beside the registrations; the configured scope still overrides it.
    /// </summary>
    public const string SharedTag = "scope:shared";

    /// <summary>
    /// The data key by which a check's result says that this failure is this instance's alone, whatever the check's
    /// scope: a DbContext check whose build expects migrations the database lacks reached a database that answers, so
    /// the fault is in this build, not in the dependency the fleet shares. Read from the result because one check
    /// finds both kinds of failure; the configured scope covers the dependency's, never this one.
    /// </summary>
    public const string LocalFindingKey = "healthkit.localFinding";

    /// <summary>The scope of <paramref name="entry"/>'s result, as <see cref="Resolve(string, IEnumerable{string}, DeployHealthOptions)"/> with the result's own word first.</summary>
    public static CheckScope Resolve(string name, HealthReportEntry entry, DeployHealthOptions options) =>
        entry.Data.ContainsKey(LocalFindingKey) ? CheckScope.Local : Resolve(name, entry.Tags, options);

    public static CheckScope Resolve(string name, IEnumerable<string> tags, DeployHealthOptions options)
    {
        if (options.GetCheck(name)?.Scope is { } configured)
        {
            return configured;
        }

        foreach (var tag in tags)
        {
            if (string.Equals(tag, SharedTag, StringComparison.Ordinal))
            {
                return CheckScope.Shared;
            }
        }

        return CheckScope.Local;
    }
}

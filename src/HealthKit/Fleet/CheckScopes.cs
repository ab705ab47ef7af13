// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Fleet;

/// <summary>
/// Says the scope of a check: <c>DeployHealth:Checks:{name}:Scope</c> when set, else the default its registration
/// declares with the <see cref="SharedTag"/> tag, else <see cref="CheckScope.Local"/>.
/// </summary>
internal static class CheckScopes
{
    /// <summary>
    /// The tag by which a registration declares that its default scope is <see cref="CheckScope.Shared"/>. A tag,
    /// because the tags travel with every <c>HealthReportEntry</c> into the snapshot the fleet judge reads, so the
    /// default needs no second table beside the registrations; the configured scope still overrides it.
    /// </summary>
    public const string SharedTag = "scope:shared";

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

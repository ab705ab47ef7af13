// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Configuration;

namespace HealthKit.Configuration;

/// <summary>
/// Keys of earlier versions that no longer bind, each with the key that replaced it. The binder ignores a key that
/// names no property, so a configuration file copied from older docs would silently run on defaults (no probe
/// listener, no fixed drain); <see cref="DeployHealthOptionsValidator"/> reports each one found instead, naming its new
/// key, in the one start-up failure that lists every invalid option.
/// </summary>
internal static class RenamedKeys
{
    /// <summary>Keys directly under <c>DeployHealth</c>: old → new.</summary>
    internal static readonly (string Old, string New)[] Options =
    [
        ("Timeout", "CheckDeadline"),
        ("ProbeTimeout", "BalancerProbeTimeout"),
        ("StartupGrace", "Startup:ReadinessDelay"),
        ("StartupAllowance", "Startup:WarmUpLimit"),
        ("DrainDelay", "Drain:Delay"),
        ("DrainMaximum", "Drain:Maximum"),
        ("DrainFailureThreshold", "Drain:FailureThreshold"),
        ("ProbePort", "ProbeListener:Port"),
        ("ProbeAddress", "ProbeListener:Address"),
        ("DetailsForLoopback", "ProbeListener:DetailsForLoopback"),
        ("AgentPort", "Agent:Port"),
        ("AgentAddress", "Agent:Address"),
        ("MaxWatchStreams", "Grpc:MaxWatchStreams"),
        ("MaxWatchStreamsPerConnection", "Grpc:MaxWatchStreamsPerConnection"),
        ("CertificateWarning", "Certificates:WarnBeforeExpiry"),
        ("CertificateUrls", "Certificates:Urls"),
        ("Fleet:BoardGracePeriod", "Fleet:BoardLossTolerance"),
    ];

    /// <summary>Keys under each <c>DeployHealth:Checks:{name}</c>: old → new.</summary>
    internal static readonly (string Old, string New)[] Check =
    [
        ("Timeout", "Deadline"),
        ("FailureGracePeriod", "MinimumFailureDuration"),
    ];

    /// <summary>
    /// Every old key set under <paramref name="section"/> (the <c>DeployHealth</c> section), as full keys: old → new.
    /// A key counts as set when it has a value or children (a list such as <c>CertificateUrls:0</c>), from any provider.
    /// </summary>
    public static List<(string Old, string New)> Find(IConfigurationSection section)
    {
        var found = new List<(string Old, string New)>();
        foreach (var (old, renamed) in Options)
        {
            if (section.GetSection(old).Exists())
            {
                found.Add((section.Path + ConfigurationPath.KeyDelimiter + old, section.Path + ConfigurationPath.KeyDelimiter + renamed));
            }
        }

        foreach (var check in section.GetSection("Checks").GetChildren())
        {
            foreach (var (old, renamed) in Check)
            {
                if (check.GetSection(old).Exists())
                {
                    found.Add((check.Path + ConfigurationPath.KeyDelimiter + old, check.Path + ConfigurationPath.KeyDelimiter + renamed));
                }
            }
        }

        return found;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>
/// Adds the checks on this instance's own resources to readiness: <c>memory</c> and <c>disk</c> everywhere,
/// <c>file_descriptors</c> on Linux. They are on by default because each costs microseconds, reads only what the
/// process already knows about itself and does not flap (see <see cref="ResourceRules"/>); they follow
/// <see cref="DeployHealthOptions.AutoDiscover"/> and <c>DeployHealth:Checks:{name}:Enabled</c> like the other
/// checks HealthKit adds. Never in liveness: restarting an instance whose disk is full or whose limit is near does
/// not help, and HealthKit's own checks never take part in liveness.
/// </summary>
internal sealed class ResourceCheckRegistration(IOptions<DeployHealthOptions> options) : IPostConfigureOptions<HealthKitRegistrations>
{
    public const string MemoryName = "memory";
    public const string DiskName = "disk";
    public const string FileDescriptorsName = "file_descriptors";

    public void PostConfigure(string? optionsName, HealthKitRegistrations target)
    {
        var settings = options.Value;
        if (!settings.AutoDiscover)
        {
            return;
        }

        CheckDiscovery.Add(target, settings, MemoryName, ["ready", "resources"], static sp => sp.GetRequiredService<MemoryHealthCheck>());
        CheckDiscovery.Add(target, settings, DiskName, ["ready", "resources"], static sp => sp.GetRequiredService<DiskHealthCheck>());
        if (OperatingSystem.IsLinux())
        {
            CheckDiscovery.Add(target, settings, FileDescriptorsName, ["ready", "resources"], static sp => sp.GetRequiredService<FileDescriptorHealthCheck>());
        }
    }
}

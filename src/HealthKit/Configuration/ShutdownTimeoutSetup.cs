// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Configuration;

/// <summary>
/// Extends <see cref="HostOptions.ShutdownTimeout"/> by the longest drain (the fixed delay, or the maximum), so the drain does not eat the time the
/// application has to stop. The drain delay is read by applying the configure actions to a fresh options object
/// rather than through <c>IOptions</c>: resolving that would run validation here, while the host is being built,
/// instead of in <c>ValidateOnStart</c> where a failure is reported as one clear start-up error.
/// </summary>
internal sealed class ShutdownTimeoutSetup(
    IEnumerable<IConfigureOptions<DeployHealthOptions>> configures,
    IEnumerable<IPostConfigureOptions<DeployHealthOptions>> postConfigures) : IPostConfigureOptions<HostOptions>
{
    public void PostConfigure(string? name, HostOptions options)
    {
        var health = new DeployHealthOptions();
        foreach (var configure in configures)
        {
            if (configure is IConfigureNamedOptions<DeployHealthOptions> named)
            {
                named.Configure(Options.DefaultName, health);
            }
            else
            {
                configure.Configure(health);
            }
        }

        foreach (var postConfigure in postConfigures)
        {
            postConfigure.PostConfigure(Options.DefaultName, health);
        }

        // An infinite timeout (-1 ms) must stay infinite, and a huge one must not overflow.
        // The longest the drain can take: the fixed delay when set, else the drain's maximum.
        var drain = health.Drain.DelayIsSet ? health.Drain.Delay : health.Drain.Maximum;
        if (drain > TimeSpan.Zero
            && options.ShutdownTimeout != Timeout.InfiniteTimeSpan
            && options.ShutdownTimeout <= TimeSpan.MaxValue - drain)
        {
            options.ShutdownTimeout += drain;
        }
    }
}

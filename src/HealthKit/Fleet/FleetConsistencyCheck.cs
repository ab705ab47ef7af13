// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Fleet;

/// <summary>
/// What only the fleet can see about this instance, from the last board picture (no I/O of its own):
/// a Data Protection key ring or application discriminator that differs from the majority's (Unhealthy: its cookies
/// and antiforgery tokens are rejected by the others and theirs by it); a required-configuration fingerprint that
/// differs from the majority's (Degraded); a clock further than <see cref="DeployHealthFleetOptions.MaxClockSkew"/>
/// from the fleet's (Degraded); several builds in the fleet (information: a rolling deploy). Local scope: only this
/// instance is wrong when it differs.
/// </summary>
internal sealed class FleetConsistencyCheck(FleetView view, FleetFacts facts) : IHealthCheck
{
    public const string Name = "fleet";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (view.Current is not { } picture)
        {
            var problem = view.Problem;
            return Task.FromResult(problem is null
                ? HealthCheckResult.Healthy("The fleet board has not been read yet.")
                : HealthCheckResult.Degraded(string.Create(CultureInfo.InvariantCulture, $"The fleet board cannot be read since {problem.Since:u} ({problem.Error}): this instance judges alone.")));
        }

        var status = HealthStatus.Healthy;
        var findings = new StringBuilder();
        var (key, keys) = facts.KeyRing();
        if (facts.Discriminator is not null)
        {
            int same = 1, different = 0;
            string? why = null;
            foreach (var peer in picture.Peers)
            {
                if (peer.Discriminator is null)
                {
                    continue;
                }

                if (!string.Equals(peer.Discriminator, facts.Discriminator, StringComparison.Ordinal))
                {
                    different++;
                    why ??= "application discriminator (SetApplicationName)";
                }
                else if (!CanRead(keys, peer.DefaultKey) || !CanRead(peer.Keys, key))
                {
                    different++;
                    why ??= "key ring";
                }
                else
                {
                    same++;
                }
            }

            if (different > 0 && different >= same)
            {
                var majority = different > same;
                status = Worse(status, majority ? HealthStatus.Unhealthy : HealthStatus.Degraded);
                findings.Append(CultureInfo.InvariantCulture, $"Data Protection {why} differs from {different} of {picture.Live} instances: ")
                    .Append(majority
                        ? "cookies and antiforgery tokens this instance issues are rejected by the others, and theirs by it. Share the key ring (PersistKeysTo...) and SetApplicationName on every instance. "
                        : "half the fleet cannot read the other half's cookies and tokens. ");
            }
        }

        if (facts.Configuration is not null && Minority(picture, facts.Configuration, static p => p.Configuration) is { } configuration)
        {
            status = Worse(status, HealthStatus.Degraded);
            findings.Append(CultureInfo.InvariantCulture, $"Required configuration differs from {configuration} of {picture.Live} instances (fingerprints differ; values are never compared in the clear). ");
        }

        if (picture.Self is { } self && picture.Peers.Count > 0)
        {
            var offsets = new List<long>(picture.Live) { self.ClockOffset };
            foreach (var peer in picture.Peers)
            {
                offsets.Add(peer.ClockOffset);
            }

            offsets.Sort();
            var skew = TimeSpan.FromMilliseconds(self.ClockOffset - offsets[offsets.Count / 2]);
            if (skew.Duration() > view.Options.MaxClockSkew)
            {
                status = Worse(status, HealthStatus.Degraded);
                findings.Append(CultureInfo.InvariantCulture, $"This instance's clock is {skew.TotalSeconds:+0;-0} s off the fleet's median, more than DeployHealth:Fleet:MaxClockSkew ({view.Options.MaxClockSkew.TotalSeconds:0} s): tokens, signed requests and cache expiry disagree. ");
            }
        }

        var builds = Builds(picture);
        if (builds is not null)
        {
            findings.Append(builds);
        }

        var summary = string.Create(CultureInfo.InvariantCulture, $"{picture.Live} live instances in fleet.");
        return Task.FromResult(new HealthCheckResult(status, findings.Length == 0 ? summary : findings.Append(summary).ToString()));
    }

    private static bool CanRead(List<string> keys, string? key) => key is null || keys.Count == 0 || keys.Contains(key);

    /// <summary>How many instances differ from this one's <paramref name="mine"/>, when they outnumber those that agree; else null.</summary>
    private static int? Minority(FleetPicture picture, string mine, Func<FleetEntry, string?> fact)
    {
        int same = 1, different = 0;
        foreach (var peer in picture.Peers)
        {
            var theirs = fact(peer);
            if (theirs is null)
            {
                continue;
            }

            if (string.Equals(theirs, mine, StringComparison.Ordinal))
            {
                same++;
            }
            else
            {
                different++;
            }
        }

        return different > same ? different : null;
    }

    private string? Builds(FleetPicture picture)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { [facts.Build] = 1 };
        foreach (var peer in picture.Peers)
        {
            counts[peer.Build] = counts.TryGetValue(peer.Build, out var n) ? n + 1 : 1;
        }

        if (counts.Count < 2)
        {
            return null;
        }

        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{counts.Count} builds in the fleet (a rolling deploy?): ");
        var first = true;
        foreach (var (build, count) in counts)
        {
            text.Append(first ? string.Empty : ", ").Append(CultureInfo.InvariantCulture, $"{build} on {count}");
            first = false;
        }

        return text.Append(CultureInfo.InvariantCulture, $"; this one runs {facts.Build}. ").ToString();
    }

    private static HealthStatus Worse(HealthStatus a, HealthStatus b) => a < b ? a : b;
}

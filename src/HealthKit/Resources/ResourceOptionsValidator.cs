// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>
/// Validates <c>DeployHealth:Resources:*</c> when the host starts: percentages from 0 or 1 to 100, a warn threshold
/// that comes before its fail threshold, byte counts not negative. Messages name the keys as a user sets them.
/// </summary>
internal sealed class ResourceOptionsValidator : IValidateOptions<DeployHealthOptions>
{
    private const string Section = "DeployHealth:Resources";

    public ValidateOptionsResult Validate(string? name, DeployHealthOptions options)
    {
        var resources = options.Resources;
        var failures = new List<string>();
        UsedPair(nameof(resources.MemoryWarnPercent), resources.MemoryWarnPercent, nameof(resources.MemoryFailPercent), resources.MemoryFailPercent, failures);
        UsedPair(nameof(resources.FileDescriptorWarnPercent), resources.FileDescriptorWarnPercent, nameof(resources.FileDescriptorFailPercent), resources.FileDescriptorFailPercent, failures);

        foreach (var (key, percent) in (ReadOnlySpan<(string, int)>)[(nameof(resources.DiskWarnPercent), resources.DiskWarnPercent), (nameof(resources.DiskFailPercent), resources.DiskFailPercent)])
        {
            if (percent is < 0 or > 100)
            {
                failures.Add(Invariant($"{Section}:{key} must be from 0 to 100 (was {percent})"));
            }
        }

        foreach (var (key, bytes) in (ReadOnlySpan<(string, long)>)[(nameof(resources.DiskWarnBytes), resources.DiskWarnBytes), (nameof(resources.DiskFailBytes), resources.DiskFailBytes)])
        {
            if (bytes < 0)
            {
                failures.Add(Invariant($"{Section}:{key} must not be negative (was {bytes})"));
            }
        }

        if (resources.DiskFailPercent > resources.DiskWarnPercent)
        {
            failures.Add(Invariant($"{Section}:DiskFailPercent ({resources.DiskFailPercent}) must not be above {Section}:DiskWarnPercent ({resources.DiskWarnPercent}): the disk would fail before it warns"));
        }

        if (resources.DiskFailBytes > resources.DiskWarnBytes)
        {
            failures.Add(Invariant($"{Section}:DiskFailBytes ({resources.DiskFailBytes}) must not be above {Section}:DiskWarnBytes ({resources.DiskWarnBytes}): the disk would fail before it warns"));
        }

        for (var i = 0; i < resources.DiskPaths.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(resources.DiskPaths[i]))
            {
                failures.Add(Invariant($"{Section}:DiskPaths:{i} must not be empty"));
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void UsedPair(string warnKey, int warn, string failKey, int fail, List<string> failures)
    {
        if (warn is < 1 or > 100)
        {
            failures.Add(Invariant($"{Section}:{warnKey} must be from 1 to 100 (was {warn})"));
        }

        if (fail is < 1 or > 100)
        {
            failures.Add(Invariant($"{Section}:{failKey} must be from 1 to 100 (was {fail})"));
        }
        else if (fail < warn)
        {
            failures.Add(Invariant($"{Section}:{failKey} ({fail}) must not be below {Section}:{warnKey} ({warn}): the check would fail before it warns"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Resources;

/// <summary>
/// The threshold rules of the resource checks, on plain numbers. A level once reached is left only when the value is
/// back by a margin (5 points of a percentage, 5% of a free-space threshold): memory rises and falls with every
/// garbage collection and a log file grows and is rotated, and a value hovering at a threshold must not take the
/// instance in and out of rotation on every evaluation.
/// </summary>
internal static class ResourceRules
{
    /// <summary>Percentage points a used share must fall below a threshold before the level it reached is left.</summary>
    public const double PercentMargin = 5;

    /// <summary>The level of a used share, in percent, against warn and fail thresholds, given the level before.</summary>
    public static ResourceLevel JudgeUsed(double usedPercent, int warnPercent, int failPercent, ResourceLevel previous)
    {
        var failAt = previous == ResourceLevel.Fail ? failPercent - PercentMargin : failPercent;
        var warnAt = previous >= ResourceLevel.Warn ? warnPercent - PercentMargin : warnPercent;
        return usedPercent >= failAt ? ResourceLevel.Fail
            : usedPercent >= warnAt ? ResourceLevel.Warn
            : ResourceLevel.Pass;
    }

    /// <summary>
    /// The free space below which a volume of <paramref name="totalBytes"/> is judged: the lower of the bytes and the
    /// percentage, so a 2 TB volume is not flagged at 10% (200 GB) free nor a 64 MB one only once 1 GB is missing.
    /// </summary>
    public static long FreeThreshold(long totalBytes, long bytes, int percent) =>
        Math.Min(bytes, (long)(totalBytes / 100.0 * percent));

    /// <summary>The level of a volume with <paramref name="freeBytes"/> free of <paramref name="totalBytes"/>, given the level before.</summary>
    public static ResourceLevel JudgeFree(long freeBytes, long totalBytes, DeployHealthResourceOptions options, ResourceLevel previous)
    {
        var failAt = FreeThreshold(totalBytes, options.DiskFailBytes, options.DiskFailPercent);
        var warnAt = FreeThreshold(totalBytes, options.DiskWarnBytes, options.DiskWarnPercent);
        if (previous == ResourceLevel.Fail)
        {
            failAt += failAt / 20;
        }

        if (previous >= ResourceLevel.Warn)
        {
            warnAt += warnAt / 20;
        }

        return freeBytes < failAt ? ResourceLevel.Fail
            : freeBytes < warnAt ? ResourceLevel.Warn
            : ResourceLevel.Pass;
    }

    /// <summary>The worse of two levels.</summary>
    public static ResourceLevel Worse(ResourceLevel a, ResourceLevel b) => a > b ? a : b;

    /// <summary>The check status of a level; a failure takes the registration's own failure status.</summary>
    public static HealthStatus ToStatus(ResourceLevel level, HealthStatus failureStatus) => level switch
    {
        ResourceLevel.Fail => failureStatus,
        ResourceLevel.Warn => HealthStatus.Degraded,
        _ => HealthStatus.Healthy,
    };

    /// <summary>Bytes for a reader: 1.5 GiB, 300 MiB, 12 KiB.</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.#} GiB"),
        >= 1L << 20 => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#} MiB"),
        _ => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
    };
}

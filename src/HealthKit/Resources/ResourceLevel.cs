// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Resources;

/// <summary>Where a resource stands against its thresholds.</summary>
internal enum ResourceLevel
{
    Pass,
    Warn,
    Fail,
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>How a DbContext check reports migrations that the code has and the database has not applied.</summary>
public enum PendingMigrationsPolicy
{
    /// <summary>Pending migrations make readiness fail (503): the code would run against an old schema.</summary>
    Unhealthy,

    /// <summary>Pending migrations are reported as Degraded: readiness passes with a warning.</summary>
    Degraded,

    /// <summary>Pending migrations are not checked; only whether the database answers.</summary>
    Ignore,
}

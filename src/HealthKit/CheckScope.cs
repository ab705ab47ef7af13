// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Who can be wrong when a health check fails: this instance alone, or a dependency that every instance of the
/// application shares. With the fleet view on (<c>DeployHealth:Fleet:Enabled</c>) a Shared failure takes an instance
/// out of rotation only while a minority of the fleet fails the same check, so a database outage cannot empty the
/// balancer's pool; a Local failure always does.
/// </summary>
public enum CheckScope
{
    /// <summary>
    /// Only this instance can be wrong (required configuration, pending migrations of this build, smoke pages,
    /// heartbeats, the fleet's consistency check): a failure always takes the instance out of rotation. The default
    /// for checks the application registers.
    /// </summary>
    Local,

    /// <summary>
    /// A dependency every instance uses (databases, Redis, caches, the application's own checks of remote services):
    /// a failure that most of the fleet shares is an outage of that dependency, and the instances stay in rotation
    /// with a warning. The default for the dependency checks HealthKit discovers. A discovered DbContext check's
    /// pending migrations are Local all the same: the database answered, and this build expects what it lacks.
    /// </summary>
    Shared,
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Settings for one health check, by its registration name, under <c>DeployHealth:Checks:{name}</c>. They apply
/// to discovered checks and to checks the application registers itself.
/// </summary>
public sealed class DeployHealthCheckOptions
{
    /// <summary>Gets or sets whether the check runs. A discovered check that is switched off is not registered.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets a new name for a discovered check (the name shown in details, logs and metrics).</summary>
    /// <value>The default is <see langword="null"/>: the discovered name is kept.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets this check's deadline, overriding <see cref="DeployHealthOptions.CheckDeadline"/>.</summary>
    /// <value>The default is <see langword="null"/>: the registration's own timeout, else <see cref="DeployHealthOptions.CheckDeadline"/>.</value>
    public TimeSpan? Deadline { get; set; }

    /// <summary>
    /// Gets or sets how long this check's last result is reused before the check runs again. A check without an
    /// interval runs in every evaluation, once per <see cref="DeployHealthOptions.CacheDuration"/>. A result older than
    /// its interval plus its deadline counts as Unhealthy, so a refresh that is stuck never serves an old pass.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: the registration's own <c>Period</c> when it sets one (HealthKit's smoke
    /// pages, certificate and data protection checks set theirs), else every evaluation.
    /// </value>
    public TimeSpan? Interval { get; set; }

    /// <summary>
    /// Gets or sets how many consecutive failed evaluations it takes before a failure counts. Until then the check
    /// reports Degraded, so one dropped packet does not pull every instance out of the balancer at once.
    /// </summary>
    /// <value>The default is 1: the first failure counts.</value>
    public int FailureThreshold { get; set; } = 1;

    /// <summary>
    /// Gets or sets how long the check must have been failing before a failure counts (together with
    /// <see cref="FailureThreshold"/>: both must be reached).
    /// </summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>: a failure may count as soon as it is seen.</value>
    public TimeSpan MinimumFailureDuration { get; set; }

    /// <summary>Gets or sets how pending EF Core migrations are reported by a discovered DbContext check.</summary>
    /// <value>The default is <see cref="PendingMigrationsPolicy.Unhealthy"/>.</value>
    public PendingMigrationsPolicy PendingMigrations { get; set; } = PendingMigrationsPolicy.Unhealthy;

    /// <summary>
    /// Gets or sets whether a failure of this check can only be this instance's (<see cref="CheckScope.Local"/>) or is
    /// a dependency the whole fleet shares (<see cref="CheckScope.Shared"/>). The fleet view
    /// (<c>DeployHealth:Fleet:Enabled</c>) keeps instances in rotation when most of the fleet fails the same Shared check.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: the check's own default, which is <see cref="CheckScope.Shared"/> for the
    /// dependencies HealthKit discovers (DbContext, NpgsqlDataSource, Redis, distributed cache) and
    /// <see cref="CheckScope.Local"/> for every other check. A DbContext check's pending migrations are Local whatever
    /// this says: it sets the scope of the database's failures only.
    /// </value>
    public CheckScope? Scope { get; set; }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// How readiness behaves right after start, under <c>DeployHealth:Startup</c>: a fixed delay before it may pass, and
/// the longest warm-up during which a cold check reads as "starting" rather than failing.
/// </summary>
public sealed class DeployHealthStartupOptions
{
    /// <summary>
    /// Gets or sets how long after the host has started readiness keeps answering 503 "starting", whatever the checks
    /// say, for caches to warm up. Readiness also waits for the first evaluation to pass.
    /// </summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan ReadinessDelay { get; set; }

    /// <summary>
    /// Gets or sets how long after the host has started readiness may answer 503 "starting" while a check is still
    /// cold: right after start HealthKit evaluates in the background until every check finishes within its deadline
    /// (EF Core's model and migration list built, the first pooled connection opened, each smoke page rendered once),
    /// and until then a check that ran out of its deadline reads as "starting", not as failing. A check that answers
    /// within its deadline, passing or failing, ends the warm-up at once. <see cref="TimeSpan.Zero"/> switches the
    /// warm-up off: readiness follows the first evaluation whatever it says.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan WarmUpLimit { get; set; } = TimeSpan.FromSeconds(30);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Settings of the fleet view, under <c>DeployHealth:Fleet</c>: every instance of the application publishes what it
/// is and what its checks see to a board in the application's own Redis, and reads the others' entries with the same
/// round trip. A failure of a <see cref="CheckScope.Shared"/> check then takes an instance out of rotation only while
/// a minority of the fleet fails it, and an instance that differs from the others (key ring, build, configuration,
/// clock) says so.
/// </summary>
public sealed class DeployHealthFleetOptions
{
    /// <summary>Gets or sets whether the fleet view is on.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>
    /// Gets or sets the fleet's name: instances with the same name share one board. Letters, digits, <c>.</c>,
    /// <c>-</c> and <c>_</c>, at most 100 characters.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the application name of the host environment.</value>
    public string? Name { get; set; }

    /// <summary>
    /// Gets or sets a StackExchange.Redis configuration string for the board (for example <c>redis:6379</c>). Without
    /// it the board uses the application's own Redis: a registered <c>IConnectionMultiplexer</c>, else the connection
    /// of <c>AddStackExchangeRedisCache</c>.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the application's own Redis.</value>
    public string? Redis { get; set; }

    /// <summary>
    /// Gets or sets the largest share of the live fleet, in percent, that a failure of the same Shared check may take
    /// out of rotation. When more instances than that fail it, it is an outage of the dependency: every instance stays
    /// in rotation (200 <c>warn</c>) and HealthKit warns. A Local failure always takes the instance out.
    /// </summary>
    /// <value>
    /// The default is 50: while at least half the live fleet passes a Shared check, the instances failing it are the odd
    /// ones out and leave; when most fail it, the dependency is down for everyone. From 0 (a Shared failure never
    /// ejects) to 100 (it always does, as without the fleet view).
    /// </value>
    public int MaxEjectedPercent { get; set; } = 50;

    /// <summary>
    /// Gets or sets how often an instance publishes when no probe has caused an evaluation; each publication reads the
    /// whole board in the same round trip.
    /// </summary>
    /// <value>The default is 2 seconds, the default <see cref="DeployHealthOptions.CacheDuration"/>.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how long an instance's entry stays on the board after its last publication: an instance that
    /// stopped or lost Redis leaves the live fleet after this time. At least twice <see cref="Interval"/>.
    /// </summary>
    /// <value>The default is 10 seconds: five publications may be missed before an instance counts as gone.</value>
    public TimeSpan EntryTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long, when the board cannot be read, the last fleet picture still decides. After that the
    /// instance judges its checks alone: every Unhealthy check takes it out of rotation, as without the fleet view.
    /// </summary>
    /// <value>The default is 60 seconds, which rides out a Redis restart or failover.</value>
    public TimeSpan BoardLossTolerance { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets how far this instance's clock may be from the fleet's before the fleet check reports Degraded.</summary>
    /// <value>The default is 1 minute, well inside the 5 minutes that signed AWS requests allow.</value>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets the most instances a board holds. An instance beyond it is not on the board (the others do not
    /// count it) and warns, but still reads the board and judges from the others' entries.
    /// </summary>
    /// <value>The default is 256. From 2 to 10,000.</value>
    public int MaxInstances { get; set; } = 256;
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// How the instance is drained when the host is asked to stop (SIGTERM), under <c>DeployHealth:Drain</c>: readiness
/// answers 503 "draining" while every other request is still served, either for a fixed <see cref="Delay"/> or until
/// the balancers that were probing the instance have let go, at most <see cref="Maximum"/>.
/// </summary>
public sealed class DeployHealthDrainOptions
{
    private TimeSpan _delay;

    /// <summary>
    /// Gets or sets a fixed drain: once the host is asked to stop, readiness answers 503 "draining" while every other
    /// request is still served, for exactly this long, before the server stops. When it is not set, the drain ends when
    /// the balancers that were probing the instance have let go (<see cref="Maximum"/>).
    /// <c>HostOptions.ShutdownTimeout</c> is extended by this delay.
    /// </summary>
    /// <value>
    /// The default is not set (reads as zero): the drain follows the balancers. It is zero when the environment is
    /// Development and in a host without an HTTP server, where nothing is drained.
    /// </value>
    public TimeSpan Delay
    {
        get => _delay;
        set
        {
            _delay = value;
            DelayIsSet = true;
        }
    }

    /// <summary>
    /// Gets or sets the longest drain when <see cref="Delay"/> is not set. The drain ends earlier once every balancer
    /// that was probing the instance has had enough failing answers to take it out and no request has arrived for a
    /// second; with no balancer probing and no request, at once. <c>HostOptions.ShutdownTimeout</c> is extended by it.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan Maximum { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many failing answers in a row take the instance out of the balancers' rotation, for the drain to
    /// wait for (HAProxy <c>fall</c>, ALB's unhealthy threshold).
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: each prober's default, recognised from its requests (HAProxy 3, ALB 2,
    /// Google Cloud 2, Varnish 6, others 3; an HAProxy agent 1).
    /// </value>
    public int? FailureThreshold { get; set; }

    /// <summary>Whether <see cref="Delay"/> was set (by configuration, code or the environment's default): a fixed drain.</summary>
    internal bool DelayIsSet { get; private set; }
}

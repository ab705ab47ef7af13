// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Settings for HealthKit's probe endpoint and its evaluation of health checks, bound from the
/// <c>DeployHealth</c> configuration section and validated when the host starts.
/// </summary>
public sealed class DeployHealthOptions
{
    /// <summary>The configuration section the options are bound from: <c>DeployHealth</c>.</summary>
    public const string SectionName = "DeployHealth";

    /// <summary>
    /// Gets or sets the base path of the probe endpoint. Readiness answers on the path itself, on the path with a
    /// trailing slash and on <c>{Path}/ready</c>; liveness answers on <c>{Path}/live</c>.
    /// </summary>
    /// <value>The default is <c>/health</c>. It must start with <c>/</c> and must not be <c>/</c> alone.</value>
    public string Path { get; set; } = "/health";

    /// <summary>
    /// Gets or sets the deadline of each health check. HealthKit enforces it even when a check ignores its
    /// cancellation token: the check is then reported Unhealthy and is not started again while it still runs.
    /// A registration's own <c>HealthCheckRegistration.Timeout</c>, when set, takes precedence.
    /// </summary>
    /// <value>The default is 2 seconds, well under the 5 second timeout of an AWS ALB health check.</value>
    public TimeSpan CheckDeadline { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how long the balancer waits for a probe's answer (its health check timeout, the kubelet's
    /// <c>timeoutSeconds</c>): HealthKit does not enforce it, it checks the check deadlines against it at start.
    /// </summary>
    /// <value>The default is 5 seconds, the default timeout of an AWS ALB health check.</value>
    public TimeSpan BalancerProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how long a readiness result is reused. Probes that arrive while an evaluation runs wait for
    /// that same evaluation, so any number of probers cost at most one evaluation per period.
    /// </summary>
    /// <value>The default is 2 seconds. <see cref="TimeSpan.Zero"/> evaluates on every probe (still single flight).</value>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets the configuration keys the application cannot run without. A key that is missing, empty or
    /// whitespace stops the host before the server binds its port, with one message naming every missing key
    /// and its environment-variable spelling.
    /// </summary>
    /// <value>The default is empty. Set as <c>DeployHealth:RequiredConfiguration:0</c>, <c>...:1</c>, or in code.</value>
    public IList<string> RequiredConfiguration { get; } = new List<string>();

    /// <summary>
    /// Gets or sets whether HealthKit finds the application's dependencies and checks them without code: every
    /// registered DbContext (database answers, no pending migration), an NpgsqlDataSource, Redis (a registered
    /// IConnectionMultiplexer or AddStackExchangeRedisCache) and any other non-memory IDistributedCache.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool AutoDiscover { get; set; } = true;

    /// <summary>
    /// Gets or sets whether a hosted service re-evaluates every <see cref="CacheDuration"/> so that probes only
    /// read the last result and no request ever waits for a dependency.
    /// </summary>
    /// <value>
    /// The default is <see langword="false"/>: the first probe after the cache expires runs the evaluation. With
    /// <see cref="DeployHealthProbeListenerOptions.Port"/> set, evaluations run in the background whatever this says.
    /// </value>
    public bool BackgroundEvaluation { get; set; }

    /// <summary>Gets per-check settings by registration name (<c>DeployHealth:Checks:{name}:...</c>).</summary>
    /// <value>The default is empty. Names compare case-insensitively.</value>
    public IDictionary<string, DeployHealthCheckOptions> Checks { get; } =
        new Dictionary<string, DeployHealthCheckOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets whether HealthKit sends one request to its own liveness path over loopback once the server
    /// has started, and logs an error when anything other than HealthKit answers it.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool SelfTest { get; set; } = true;

    /// <summary>
    /// Gets or sets how long a work item queued to the thread pool may wait before readiness answers 503
    /// "overloaded: thread pool starved for N ms". Readiness comes back once queued work runs within half of it
    /// again for a while; liveness is never affected.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: one second when <see cref="DeployHealthProbeListenerOptions.Port"/> is set, otherwise off (the main
    /// port cannot answer a starved pool's probes anyway). <see cref="TimeSpan.Zero"/> switches the detector off.
    /// </value>
    public TimeSpan? OverloadThreshold { get; set; }

    /// <summary>
    /// Gets or sets the name of an authorization policy; a caller that satisfies it, with the application's own
    /// authentication schemes, gets the full <c>application/health+json</c> document from readiness and the status
    /// page at <c>{Path}/ui</c>. Everyone else gets only pass, warn or fail.
    /// </summary>
    /// <value>The default is <see langword="null"/>: nobody gets details.</value>
    public string? DetailsPolicy { get; set; }

    /// <summary>
    /// Gets the app-relative paths of pages smoke-rendered on each readiness evaluation (for example <c>/</c> and
    /// <c>/Privacy</c>), with the defaults of <see cref="SmokePageOptions"/>. Use
    /// <see cref="DeployHealthBuilder.AddSmokePage"/> for expected status, text, timeout or a user.
    /// </summary>
    /// <value>The default is empty.</value>
    public IList<string> SmokePages { get; } = new List<string>();

    /// <summary>Gets how readiness behaves right after start (<c>DeployHealth:Startup:...</c>).</summary>
    /// <value>No delay and a warm-up of at most 30 seconds by default.</value>
    public DeployHealthStartupOptions Startup { get; } = new();

    /// <summary>Gets how the instance is drained when the host is asked to stop (<c>DeployHealth:Drain:...</c>).</summary>
    /// <value>By default the drain follows the balancers, at most 30 seconds.</value>
    public DeployHealthDrainOptions Drain { get; } = new();

    /// <summary>Gets the settings of HealthKit's own probe listener (<c>DeployHealth:ProbeListener:...</c>).</summary>
    /// <value>The listener is off by default.</value>
    public DeployHealthProbeListenerOptions ProbeListener { get; } = new();

    /// <summary>Gets the settings of the HAProxy agent listener (<c>DeployHealth:Agent:...</c>).</summary>
    /// <value>The listener is off by default.</value>
    public DeployHealthAgentOptions Agent { get; } = new();

    /// <summary>Gets the limits of the gRPC door's Watch streams (<c>DeployHealth:Grpc:...</c>).</summary>
    /// <value>1,000 streams in all and 16 per connection by default.</value>
    public DeployHealthGrpcOptions Grpc { get; } = new();

    /// <summary>Gets the settings of the <c>certificates</c> check (<c>DeployHealth:Certificates:...</c>).</summary>
    /// <value>Degraded within 14 days of expiry by default, no other URLs.</value>
    public DeployHealthCertificateOptions Certificates { get; } = new();

    /// <summary>
    /// Gets the settings of the fleet view (<c>DeployHealth:Fleet:...</c>): a shared board in the application's Redis
    /// that keeps a failure every instance shares from taking the whole fleet out of rotation.
    /// </summary>
    /// <value>The fleet view is off by default.</value>
    public DeployHealthFleetOptions Fleet { get; } = new();

    /// <summary>
    /// Gets the thresholds of the checks on this instance's own resources (<c>DeployHealth:Resources:...</c>): memory,
    /// disk and file descriptors.
    /// </summary>
    /// <value>The checks are on by default, with the thresholds of <see cref="DeployHealthResourceOptions"/>.</value>
    public DeployHealthResourceOptions Resources { get; } = new();

    /// <summary>Whether evaluations run on their own schedule: asked for, or needed by the probe listener, which never waits.</summary>
    internal bool EvaluatesInBackground => BackgroundEvaluation || ProbeListener.Port is not null;

    /// <summary>The overload threshold in effect: the setting, else one second with the probe listener; zero when off.</summary>
    internal TimeSpan EffectiveOverloadThreshold => OverloadThreshold ?? (ProbeListener.Port is null ? TimeSpan.Zero : TimeSpan.FromSeconds(1));

    internal DeployHealthCheckOptions? GetCheck(string name) => Checks.TryGetValue(name, out var check) ? check : null;
}

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

    private TimeSpan _drainDelay;

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
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how long the balancer waits for a probe's answer. HealthKit warns at start when the check
    /// deadlines cannot fit into it.
    /// </summary>
    /// <value>The default is 5 seconds, the default timeout of an AWS ALB health check.</value>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

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
    /// <see cref="ProbePort"/> set, evaluations run in the background whatever this says.
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
    /// Gets or sets a fixed drain: once the host is asked to stop (SIGTERM), readiness answers 503 "draining" while every
    /// other request is still served, for exactly this long, before the server stops. When it is not set, the drain
    /// ends when the balancers that were probing the instance have let go (<see cref="DrainMaximum"/>).
    /// <c>HostOptions.ShutdownTimeout</c> is extended by this delay.
    /// </summary>
    /// <value>
    /// The default is not set (reads as zero): the drain follows the balancers. It is zero when the environment is
    /// Development and in a host without an HTTP server, where nothing is drained.
    /// </value>
    public TimeSpan DrainDelay
    {
        get => _drainDelay;
        set
        {
            _drainDelay = value;
            DrainDelayIsSet = true;
        }
    }

    /// <summary>
    /// Gets or sets how long after the host has started readiness keeps answering 503 "starting", for caches to warm
    /// up. Readiness also waits for the first evaluation to pass.
    /// </summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan StartupGrace { get; set; }

    /// <summary>
    /// Gets or sets how long after the host has started readiness may answer 503 "starting" while a check is still
    /// cold: right after start HealthKit evaluates in the background until every check finishes within its deadline
    /// (EF Core's model and migration list built, the first pooled connection opened, each smoke page rendered once),
    /// and until then a check that ran out of its deadline reads as "starting", not as failing. A check that answers
    /// within its deadline, passing or failing, ends the warm-up at once. <see cref="TimeSpan.Zero"/> switches the
    /// warm-up off: readiness follows the first evaluation whatever it says.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan StartupAllowance { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the TCP port of an HAProxy <c>agent-check</c> listener that answers <c>up ready</c>,
    /// <c>drain</c> or <c>down #reason</c> from the last readiness result, without any dependency work per connection.
    /// </summary>
    /// <value>The default is <see langword="null"/>: no listener.</value>
    public int? AgentPort { get; set; }

    /// <summary>Gets or sets the address the agent listener binds to.</summary>
    /// <value>The default is <c>127.0.0.1</c>; set the address HAProxy reaches the instance on.</value>
    public string AgentAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Gets or sets the TCP port of HealthKit's own probe listener: a tiny HTTP/1.x responder on a thread of its own
    /// that answers <c>{Path}</c>, <c>{Path}/</c>, <c>{Path}/ready</c> and <c>{Path}/live</c> (GET, HEAD, OPTIONS)
    /// even when the thread pool is starved and the main port cannot answer, and that gives a worker without a web
    /// server real probes. Readiness comes from the last evaluation, re-run in the background while the listener is on.
    /// </summary>
    /// <value>The default is <see langword="null"/>: no listener.</value>
    public int? ProbePort { get; set; }

    /// <summary>Gets or sets the IP address the probe listener binds to.</summary>
    /// <value>
    /// The default is <c>0.0.0.0</c> (all IPv4 interfaces), because balancers and kubelets probe from other hosts.
    /// Only a loopback address (<c>127.0.0.1</c>, <c>::1</c>) lets <see cref="DetailsForLoopback"/> give details.
    /// </value>
    public string ProbeAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// Gets or sets how long a work item queued to the thread pool may wait before readiness answers 503
    /// "overloaded: thread pool starved for N ms". Readiness comes back once queued work runs within half of it
    /// again for a while; liveness is never affected.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: one second when <see cref="ProbePort"/> is set, otherwise off (the main
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
    /// Gets or sets whether callers of the probe listener get details (the full readiness document and the status
    /// page at <c>{Path}/ui</c>) without authentication, when that listener is bound to loopback
    /// (<see cref="ProbePort"/> set, <see cref="ProbeAddress"/> <c>127.0.0.1</c> or <c>::1</c>). Never on the
    /// application's own endpoints: a forwarder on the same host (HAProxy <c>mode tcp</c>, stunnel, socat,
    /// <c>ssh -L</c>) or a request forgery in the app makes any request arrive from loopback, with or without headers.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DetailsForLoopback { get; set; }

    /// <summary>
    /// Gets the app-relative paths of pages smoke-rendered on each readiness evaluation (for example <c>/</c> and
    /// <c>/Privacy</c>), with the defaults of <see cref="SmokePageOptions"/>. Use
    /// <see cref="DeployHealthBuilder.AddSmokePage"/> for expected status, text, timeout or a user.
    /// </summary>
    /// <value>The default is empty.</value>
    public IList<string> SmokePages { get; } = new List<string>();

    /// <summary>
    /// Gets or sets how long before a certificate expires HealthKit starts reporting it as Degraded: the
    /// certificates of the server's HTTPS endpoints and of <see cref="CertificateUrls"/>. Expired or not yet valid
    /// certificates are Unhealthy.
    /// </summary>
    /// <value>The default is 14 days.</value>
    public TimeSpan CertificateWarning { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Gets HTTPS URLs of other services whose certificates are checked too (for example an API the app calls).</summary>
    /// <value>The default is empty.</value>
    public IList<string> CertificateUrls { get; } = new List<string>();

    /// <summary>
    /// Gets the settings of the fleet view (<c>DeployHealth:Fleet:...</c>): a shared board in the application's Redis
    /// that keeps a failure every instance shares from taking the whole fleet out of rotation.
    /// </summary>
    /// <value>The fleet view is off by default.</value>
    public DeployHealthFleetOptions Fleet { get; } = new();

    /// <summary>
    /// Gets or sets how many gRPC <c>grpc.health.v1.Health/Watch</c> streams HealthKit keeps open at once in all;
    /// beyond it a Watch is refused with <c>RESOURCE_EXHAUSTED</c> (status 8), which gRPC clients retry with backoff.
    /// Each open stream costs some kilobytes and any client can open one.
    /// </summary>
    /// <value>The default is 1,000.</value>
    public int MaxWatchStreams { get; set; } = 1000;

    /// <summary>
    /// Gets or sets how many Watch streams one HTTP/2 connection may keep open at once; beyond it that connection's
    /// next Watch is refused with <c>RESOURCE_EXHAUSTED</c>. A client watches one or two services per connection.
    /// </summary>
    /// <value>The default is 16.</value>
    public int MaxWatchStreamsPerConnection { get; set; } = 16;

    /// <summary>
    /// Gets or sets the longest drain when <see cref="DrainDelay"/> is not set. The drain ends earlier once every balancer
    /// that was probing the instance has had enough failing answers to take it out and no request has arrived for a
    /// second; with no balancer probing and no request, at once. <c>HostOptions.ShutdownTimeout</c> is extended by it.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan DrainMaximum { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many failing answers in a row take the instance out of the balancers' rotation, for the drain to
    /// wait for (HAProxy <c>fall</c>, ALB's unhealthy threshold).
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: each prober's default, recognised from its requests (HAProxy 3, ALB 2,
    /// Google Cloud 2, Varnish 6, others 3; an HAProxy agent 1).
    /// </value>
    public int? DrainFailureThreshold { get; set; }

    /// <summary>Whether <see cref="DrainDelay"/> was set (by configuration, code or the environment's default): a fixed drain.</summary>
    internal bool DrainDelayIsSet { get; private set; }

    /// <summary>
    /// Gets the thresholds of the checks on this instance's own resources (<c>DeployHealth:Resources:...</c>): memory,
    /// disk and file descriptors.
    /// </summary>
    /// <value>The checks are on by default, with the thresholds of <see cref="DeployHealthResourceOptions"/>.</value>
    public DeployHealthResourceOptions Resources { get; } = new();

    /// <summary>Whether evaluations run on their own schedule: asked for, or needed by the probe listener, which never waits.</summary>
    internal bool EvaluatesInBackground => BackgroundEvaluation || ProbePort is not null;

    /// <summary>The overload threshold in effect: the setting, else one second with the probe listener; zero when off.</summary>
    internal TimeSpan EffectiveOverloadThreshold => OverloadThreshold ?? (ProbePort is null ? TimeSpan.Zero : TimeSpan.FromSeconds(1));

    internal DeployHealthCheckOptions? GetCheck(string name) => Checks.TryGetValue(name, out var check) ? check : null;
}

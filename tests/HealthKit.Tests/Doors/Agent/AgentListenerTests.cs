// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Balancers;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Doors.Agent;

/// <summary>
/// The HAProxy agent-check listener: the line it answers on a raw TCP connection in each state, and a real
/// HAProxy 2.6 that follows it from UP to DRAIN and DOWN and back.
/// </summary>
public sealed class AgentListenerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ProcessBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AgentLine_EachState_IsWhatHaproxyExpects()
    {
        var check = new SwitchableCheck();
        var agentPort = ServerHost.GetFreePort();
        await using var app = await LifecycleApp.StartAsync(check: check, configuration: new Dictionary<string, string?>
        {
            ["DeployHealth:Agent:Port"] = agentPort.ToString(),
            ["DeployHealth:Startup:ReadinessDelay"] = "00:00:01",
            ["DeployHealth:CacheDuration"] = "00:00:00.200",
        });
        var health = app.Services.GetRequiredService<IDrainSwitch>();

        Assert.Equal("down #starting\n", await ReadAgentLineAsync(agentPort));
        await WaitForAgentLineAsync(agentPort, "up ready\n");

        health.Drain();
        Assert.Equal("drain #draining\n", await ReadAgentLineAsync(agentPort));

        health.Resume();
        Assert.Equal("up ready\n", await ReadAgentLineAsync(agentPort));

        // No HTTP probe from here on: the agent alone must notice the dependency.
        check.Healthy = false;
        await WaitForAgentLineAsync(agentPort, "down #switch unhealthy\n");

        check.Healthy = true;
        await WaitForAgentLineAsync(agentPort, "up ready\n");
    }

    /// <summary>
    /// The configuration to use with the agent: the HTTP check asks only whether the process answers
    /// (<c>/health/live</c>) and the agent carries readiness, so a drain stays DRAIN (sessions by persistence continue)
    /// instead of turning DOWN when readiness starts answering 503.
    /// </summary>
    [Fact]
    public async Task Haproxy_AgentWithLivenessHttpchk_DrainStaysDrainAndAgentTakesServerDown()
    {
        var check = new SwitchableCheck();
        await using var setup = await AgentSetup.StartAsync(output, check, "/health/live", clock: true);
        var health = setup.Health;

        await setup.StepAsync("Drain()", "DRAIN", health.Drain);

        // More HTTP checks than fall answered since: had the HTTP check failed, the server would be DOWN by now.
        await ProbeCount.WaitForMoreAsync(setup.App, ProberKind.Haproxy, 3, "/health/live");
        var status = await setup.Haproxy.GetServerStatusAsync("be", "app");
        Assert.True(status.StartsWith("DRAIN", StringComparison.Ordinal), $"{status}: {await HaproxyStats.DescribeAsync(setup.Haproxy, "be", "app")}");

        await setup.StepAsync("Resume()", "UP", health.Resume);
        await setup.StepAsync("check unhealthy", "DOWN", () => check.Healthy = false);
        Assert.Equal("L7OK", (await HaproxyStats.GetServerRowAsync(setup.Haproxy, "be", "app"))["check_status"]);
        await setup.StepAsync("check healthy again", "UP", () => check.Healthy = true);

        // The agent's "ready" ends any administrative state, the operator's too: maintenance set on HAProxy's
        // socket lasts one agent interval. Operators drain through IDrainSwitch, or run "disable agent" first.
        Assert.Equal(string.Empty, (await setup.Haproxy.SendCommandAsync("set server be/app state maint")).Trim());
        Assert.StartsWith("MAINT", await setup.Haproxy.GetServerStatusAsync("be", "app"), StringComparison.Ordinal);
        await setup.StepAsync("operator 'set server state maint' (agent answers up ready)", "UP", () => { });

        // With the agent check disabled first, the operator's maintenance holds past two agent intervals. HAProxy runs
        // no check on a server in maintenance: the clock backend's checks (every 500 ms, as the agent's) count them.
        await setup.Haproxy.SendCommandAsync("disable agent be/app");
        await setup.Haproxy.SendCommandAsync("set server be/app state maint");
        await ProbeCount.WaitForMoreAsync(setup.App, ProberKind.Haproxy, 3, AgentSetup.ClockPath);
        Assert.StartsWith("MAINT", await setup.Haproxy.GetServerStatusAsync("be", "app"), StringComparison.Ordinal);
        await setup.Haproxy.SendCommandAsync("enable agent be/app");
        await setup.Haproxy.SendCommandAsync("set server be/app state ready");
        await setup.StepAsync("'enable agent' and 'set server state ready'", "UP", () => { });
    }

    /// <summary>
    /// <c>option httpchk GET /health</c> beside the agent: the agent's drain shows first, then the failing readiness
    /// check takes the server DOWN; both come back after Resume().
    /// </summary>
    [Fact]
    public async Task Haproxy_AgentWithReadinessHttpchk_FollowsDrainResumeAndHealth()
    {
        var check = new SwitchableCheck();
        await using var setup = await AgentSetup.StartAsync(output, check, "/health");
        var health = setup.Health;

        await setup.StepAsync("Drain()", "DRAIN", health.Drain);
        await setup.StepAsync("(readiness 503 meanwhile)", "DOWN", () => { });
        await setup.StepAsync("Resume()", "UP", health.Resume);
        await setup.StepAsync("check unhealthy", "DOWN", () => check.Healthy = false);
        await setup.StepAsync("check healthy again", "UP", () => check.Healthy = true);
    }

    /// <summary>
    /// The agent reads the verdict on a thread of its own, never a pool thread, so a starved pool cannot hold its
    /// answer back: a readiness gate of the test's records the threads it is read on.
    /// </summary>
    [Fact]
    public async Task AgentLine_ReadOnItsOwnThread_NotThePool()
    {
        var gate = new ThreadRecordingGate();
        var agentPort = ServerHost.GetFreePort();
        await using var app = await LifecycleApp.StartAsync(
            configuration: new Dictionary<string, string?> { ["DeployHealth:Agent:Port"] = agentPort.ToString() },
            configureBuilder: builder => builder.Services.AddSingleton<IReadinessGate>(gate));

        // Gates are read in turn until one is closed: the start gate's has to open first.
        await WaitForAgentLineAsync(agentPort, "up ready\n");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("up ready\n", await ReadAgentLineAsync(agentPort));
        }

        var agentReads = gate.Threads.Where(t => t.Name == "HealthKit agent").ToList();
        Assert.True(agentReads.Count >= 3, $"Read on: {string.Join(", ", gate.Threads.Select(t => $"{t.Name ?? "(unnamed)"} pool={t.Pool}").Distinct())}");
        Assert.All(agentReads, t => Assert.False(t.Pool));
    }

    /// <summary>
    /// The agent answers while the app's requests starve the thread pool (tests/HealthKit.TestBusyApp, as in the
    /// overload gate's test): every agent check of 20 s of load gets its line within the read's bound, and the line
    /// turns to the overload's once readiness does.
    /// </summary>
    [Fact]
    public async Task RealStarvation_AgentAnswersThroughout_OverloadedThenUp()
    {
        var agentPort = ServerHost.GetFreePort();
        await using var app = SampleProcess.Start(SampleProcess.AppPath("HealthKit.TestBusyApp"), [], new Dictionary<string, string?>
        {
            ["DeployHealth__Agent__Port"] = agentPort.ToString(),
            ["DeployHealth__OverloadThreshold"] = "00:00:01",
            ["DeployHealth__Drain__Delay"] = "00:00:00",
        });
        await app.WaitForListeningAsync(ProcessBound);
        await ServerHost.WaitUntilAsync("the agent port to accept connections", () => ServerHost.AcceptsAsync(agentPort), ProcessBound);
        await WaitForAgentLineAsync(agentPort, "up ready\n", ProcessBound);

        var lines = new List<string>();
        string? overloaded = null;
        using (var client = new HttpClient { Timeout = ProcessBound })
        using (var load = new CancellationTokenSource(TimeSpan.FromSeconds(45)))
        {
            var clients = BlockingLoad.Start(client, app.Address, load.Token);
            var began = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // Every agent check of 20 s of load, each read bounded. The former agent on the pool passed this too
                // (its accepts were still run within the bound), so this alone does not tell the agent's own thread
                // from the pool's; the test above does.
                while (!load.IsCancellationRequested && (overloaded is null || System.Diagnostics.Stopwatch.GetElapsedTime(began) < TimeSpan.FromSeconds(20)))
                {
                    string line;
                    try
                    {
                        line = await ReadAgentLineAsync(agentPort);
                    }
                    catch (OperationCanceledException)
                    {
                        Assert.Fail($"The agent did not answer within 5 s, {System.Diagnostics.Stopwatch.GetElapsedTime(began).TotalSeconds:0} s into the load, after {lines.Count} answers.");
                        throw;
                    }

                    lines.Add(line);
                    if (overloaded is null && line.StartsWith("down #overloaded: thread pool starved for", StringComparison.Ordinal))
                    {
                        overloaded = line;
                    }

                    await Task.Delay(250);
                }
            }
            finally
            {
                await load.CancelAsync();
                await Task.WhenAll(clients);
            }
        }

        output.WriteLine($"{lines.Count} agent checks under load: {string.Join(" | ", lines.Select(l => l.TrimEnd()).Distinct())}");
        Assert.True(overloaded is not null, $"The agent never said overloaded ({string.Join(" | ", lines)}). Output:\n{app.Output}");
        Assert.All(lines, line => Assert.EndsWith("\n", line, StringComparison.Ordinal));
        await WaitForAgentLineAsync(agentPort, "up ready\n", ProcessBound);
    }

    /// <summary>Connects to the agent port and reads its one line until it closes the connection, as HAProxy does.</summary>
    public static async Task<string> ReadAgentLineAsync(int port)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadToEndAsync(cts.Token);
    }

    private static async Task WaitForAgentLineAsync(int port, string expected, TimeSpan? bound = null)
    {
        var last = string.Empty;
        try
        {
            await ServerHost.WaitUntilAsync($"the agent to answer '{expected.TrimEnd()}'", async () => (last = await ReadAgentLineAsync(port)) == expected, bound ?? Bound);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last answer: '{last.TrimEnd()}'", e);
        }
    }

    /// <summary>A gate that lets readiness through and records the thread of every read.</summary>
    private sealed class ThreadRecordingGate : IReadinessGate
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string? Name, bool Pool)> Threads { get; } = new();

        public VerdictReason NotReady(out string? detail)
        {
            Threads.Enqueue((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
            detail = null;
            return VerdictReason.None;
        }
    }

    /// <summary>An app with the agent listener behind a real HAProxy that health-checks <c>httpchkPath</c> and asks the agent.</summary>
    private sealed class AgentSetup : IAsyncDisposable
    {
        private readonly ITestOutputHelper _output;

        private AgentSetup(ITestOutputHelper output, KestrelApp app, HaproxyServer haproxy)
        {
            _output = output;
            App = app;
            Haproxy = haproxy;
        }

        public KestrelApp App { get; }

        public HaproxyServer Haproxy { get; }

        public IDrainSwitch Health => App.Services.GetRequiredService<IDrainSwitch>();

        /// <summary>What the clock backend's checks ask for: a path of its own, so its checks are told apart in the ledger.</summary>
        public const string ClockPath = "/health/ready";

        /// <param name="output">Where each step's timing goes.</param>
        /// <param name="check">The app's one check.</param>
        /// <param name="httpchkPath">What HAProxy's HTTP check of the app asks for.</param>
        /// <param name="clock">
        /// Whether a second backend checks the app every 500 ms on <see cref="ClockPath"/>, whatever state the first is
        /// in: a count of intervals passed on HAProxy's clock, for a step that must show that nothing changed.
        /// </param>
        public static async Task<AgentSetup> StartAsync(ITestOutputHelper output, SwitchableCheck check, string httpchkPath, bool clock = false)
        {
            var agentPort = ServerHost.GetFreePort();
            var app = await LifecycleApp.StartAsync(check: check, configuration: new Dictionary<string, string?>
            {
                ["DeployHealth:Agent:Port"] = agentPort.ToString(),
                ["DeployHealth:CacheDuration"] = "00:00:00.250",
            });
            HaproxyServer haproxy;
            try
            {
                haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                        option httpchk GET {httpchkPath}
                        server app 127.0.0.1:{app.Address.Port} check inter 500 fall 2 rise 2 agent-check agent-port {agentPort} agent-inter 500
                    """ + (clock ? $"""

                    backend clock
                        option httpchk GET {ClockPath}
                        server app 127.0.0.1:{app.Address.Port} check inter 500
                    """ : string.Empty)));
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }

            var setup = new AgentSetup(output, app, haproxy);
            try
            {
                // HAProxy starts a server UP: wait until the health check and the agent have both answered.
                await ServerHost.WaitUntilAsync(
                    "the first health check and agent check",
                    async () =>
                    {
                        var row = await HaproxyStats.GetServerRowAsync(haproxy, "be", "app");
                        return row["check_status"] == "L7OK" && row["agent_status"] == "L7OK";
                    },
                    Bound);
                await setup.StepAsync("healthy", "UP", () => { });
                return setup;
            }
            catch
            {
                await setup.DisposeAsync();
                throw;
            }
        }

        public async Task StepAsync(string what, string expected, Action act)
        {
            act();
            var took = await HaproxyStats.TimeUntilStatusAsync(Haproxy, "be", "app", expected, Bound);
            _output.WriteLine($"{what}: {expected} after {took.TotalMilliseconds:0} ms; {await HaproxyStats.DescribeAsync(Haproxy, "be", "app")}");
        }

        public async ValueTask DisposeAsync()
        {
            await Haproxy.DisposeAsync();
            await App.DisposeAsync();
        }
    }
}

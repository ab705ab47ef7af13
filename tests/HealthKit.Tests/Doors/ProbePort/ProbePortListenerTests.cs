// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using HealthKit.Balancers;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace HealthKit.Tests.Doors.ProbePort;

/// <summary>HealthKit's own probe listener (<c>DeployHealth:ProbeListener:Port</c>) on the wire, next to the main port it mirrors.</summary>
public sealed class ProbePortListenerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Paths_GetHeadOptions_SameStatusHeadersAndBodiesAsTheMainPort()
    {
        await using var app = await StartAsync(health => health.AddCheck("search", () => HealthCheckResult.Degraded("Index rebuilding.")));
        await WaitForEvaluationAsync(app);

        foreach (var path in new[] { "/health", "/health/", "/health/ready", "/HEALTH/Live", "/health/live/" })
        {
            foreach (var (method, accept) in new[] { ("GET", string.Empty), ("HEAD", string.Empty), ("OPTIONS", string.Empty), ("GET", "Accept: text/plain\r\n") })
            {
                var main = await RawHttp.GetAsync(app.Address, path, "10.0.3.7:8080", method, extraHeaders: accept);
                var probe = await RawHttp.GetAsync(app.ProbeAddress, path, "10.0.3.7:8081", method, extraHeaders: accept);

                var tried = $"{method} {path} {accept.Trim()}: main {main}, probe port {probe}";
                Assert.True(main.Status == probe.Status, tried);
                Assert.True(main.Body == probe.Body, tried);
                foreach (var header in new[] { "Content-Type", "Content-Length", "Cache-Control", "Allow" })
                {
                    Assert.True(main.Header(header) == probe.Header(header), $"{header}: {tried}");
                }

                Assert.NotNull(probe.Header("Date"));
            }

            var options = await RawHttp.GetAsync(app.ProbeAddress, path, null, "OPTIONS", "HTTP/1.0");
            Assert.Equal(200, options.Status);
            Assert.Equal("GET, HEAD, OPTIONS", options.Header("Allow"));
            Assert.Equal("0", options.Header("Content-Length"));
        }

        var ready = await RawHttp.GetAsync(app.ProbeAddress, "/health", null, version: "HTTP/1.0");
        Assert.Equal("""{"status":"warn"}""", ready.Body);
        var asterisk = await RawHttp.SendAsync(app.ProbeAddress, "OPTIONS * HTTP/1.0\r\n\r\n");
        Assert.Equal(200, asterisk.Status);
    }

    [Fact]
    public async Task FailingCheck_Readiness503_LivenessStill200()
    {
        await using var app = await StartAsync(health => health.AddCheck("db", () => HealthCheckResult.Unhealthy("Connection refused.")));
        await WaitForEvaluationAsync(app);

        var ready = await RawHttp.GetAsync(app.ProbeAddress, "/health/ready", null, version: "HTTP/1.0");
        var live = await RawHttp.GetAsync(app.ProbeAddress, "/health/live", null, version: "HTTP/1.0");

        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"fail"}""", ready.Body);
        Assert.DoesNotContain("Connection refused", ready.Body);
        Assert.Equal(200, live.Status);
    }

    [Fact]
    public async Task KubeletAndHaproxyProbes_RecordedInTheLedgerAsTheProbersTheyAre()
    {
        await using var app = await StartAsync();

        // Tried: a kubelet's liveness probe and HAProxy's "option httpchk GET /health" on the probe port.
        var kubelet = await RawHttp.GetAsync(app.ProbeAddress, "/health/live", "10.1.2.3:8081", extraHeaders: "User-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n");
        var haproxy = await RawHttp.GetAsync(app.ProbeAddress, "/health", null, version: "HTTP/1.0");
        Assert.Equal(200, kubelet.Status);
        Assert.NotEqual(0, haproxy.Status);

        var probers = app.Services.GetRequiredService<ProberLedger>().Snapshot();
        var kube = Assert.Single(probers, p => p.Role == ProberRole.Liveness);
        Assert.Equal(ProberKind.Kubernetes, kube.Kind);
        Assert.Equal(ProberDoor.ProbePort, kube.Door);
        Assert.Equal("kube-probe/1.31", kube.UserAgent);
        Assert.Equal("/health/live", kube.Path);
        Assert.Equal(ProberKind.Haproxy, Assert.Single(probers, p => p.Role == ProberRole.Readiness).Kind);
    }

    [Theory]
    [InlineData("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405)]
    [InlineData("head /health HTTP/1.1\r\nHost: x\r\n\r\n", 405)]
    [InlineData("get /health/live HTTP/1.0\r\n\r\n", 405)]
    [InlineData("DELETE /health/live HTTP/1.0\r\n\r\n", 405)]
    [InlineData("GET /healthz HTTP/1.0\r\n\r\n", 404)]
    [InlineData("GET /health/x HTTP/1.0\r\n\r\n", 404)]
    [InlineData("GET /health/ui HTTP/1.0\r\n\r\n", 404)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", 404)]
    [InlineData("GET http://10.0.0.5:8081/health/live HTTP/1.1\r\nHost: 10.0.0.5:8081\r\n\r\n", 200)]
    [InlineData("GET /health/live?probe=1 HTTP/1.1\n\n", 200)]
    [InlineData("GET * HTTP/1.1\r\n\r\n", 400)]
    [InlineData("hello\r\n\r\n", 400)]
    [InlineData("GET /health HTTP/1.1\r\nno colon here\r\n\r\n", 400)]
    [InlineData("GET /health HTTP/9.9\r\n\r\n", 505)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)]
    public async Task OtherRequests_405_404_400_NeverA500(string request, int expected)
    {
        await using var app = await StartAsync();

        var response = await RawHttp.SendAsync(app.ProbeAddress, request);

        Assert.True(response.Status == expected, $"{request.ReplaceLineEndings("\\n")} -> {response}");
        if (expected == 405)
        {
            Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
        }
    }

    [Fact]
    public async Task HugeHead_431_AndSilentClients_ClosedWhileProbesAreAnswered()
    {
        await using var app = await StartAsync();
        var huge = "GET /health/live HTTP/1.1\r\nX-Padding: " + new string('a', 16 * 1024) + "\r\n\r\n";

        var tooLarge = await RawHttp.SendAsync(app.ProbeAddress, huge);
        Assert.Equal(431, tooLarge.Status);

        // Tried: more silent connections (slowloris) than the listener has handler threads. Each is closed after the
        // read deadline, and a real probe behind them is still answered.
        var port = app.ProbeAddress.Port;
        var silent = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 12; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                silent.Add(client);
            }

            var live = await RawHttp.GetAsync(app.ProbeAddress, "/health/live", null, version: "HTTP/1.0");
            Assert.Equal(200, live.Status);

            foreach (var client in silent)
            {
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var read = await client.GetStream().ReadAsync(new byte[16], bound.Token);
                Assert.Equal(0, read);
            }
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    /// <summary>
    /// How long each attack runs: 30 s, as long as the trial that found them, so every attacking connection is closed
    /// and reopened many times over and a lingering close that waits per read would show.
    /// </summary>
    private static readonly TimeSpan AttackDuration = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("trickle after the request", 4, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 500)]
    [InlineData("300 silent, reopened", 300, "", 0)]
    [InlineData("300 slowloris", 300, "GET /health HTTP/1.1\r\nX", 5000)]
    [InlineData("100 silent, reopened", 100, "", 0)]
    public async Task HostileConnections_LivenessProbesStillAnsweredWithinOneSecond(string attack, int connections, string first, int trickleMs)
    {
        await using var app = await StartAsync();
        var opened = 0;

        // Tried: a kubelet-like prober (every 0.5 s, 1 s timeout) on /health/live while the attack runs.
        var probes = await HostileClients.ProbeDuringAsync(
            app.ProbeAddress,
            "GET /health/live HTTP/1.1\r\nHost: 10.0.3.7:8081\r\nUser-Agent: kube-probe/1.31\r\nConnection: close\r\n\r\n",
            async () => opened = await HostileClients.AttackAsync(app.ProbeAddress, connections, first, trickleMs > 0 ? TimeSpan.FromMilliseconds(trickleMs) : null, AttackDuration));

        var answered = probes.Count(p => p.Status == 200);
        var summary = $"{attack}: {answered} of {probes.Count} answered 200 within 1 s, {opened} attacking connections; failed: {string.Join(" | ", probes.Where(p => p.Status != 200))}";
        Assert.True(opened >= connections, summary);
        Assert.True(probes.Count >= 8, summary);
        Assert.True(answered >= probes.Count * 0.95, summary);
        output.WriteLine(summary + $"; p50 {Percentile(probes, 0.5):F1} ms, max {Percentile(probes, 1):F1} ms");
    }

    [Fact]
    public async Task TrickleAfterTheAnswer_ClosedAtTheLingerDeadline()
    {
        await using var app = await StartAsync();
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, app.ProbeAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new MemoryStream();
        await stream.CopyToAsync(answer, bound.Token);
        Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(answer.ToArray()), StringComparison.Ordinal);

        // Tried: after the answer (and the server's FIN), a byte every 200 ms, never closing. The server's lingering
        // close reads them until its deadline, then closes: the next write is reset.
        var refused = false;
        while (!refused)
        {
            await Task.Delay(200, bound.Token);
            try
            {
                await stream.WriteAsync("x"u8.ToArray(), bound.Token);
            }
            catch (IOException)
            {
                refused = true;
            }
        }
    }

    [Fact]
    public async Task Start_PortInUse_FailsWithMessageNamingTheSetting()
    {
        // Tried: DeployHealth:ProbeListener:Port set to a port another socket already listens on.
        using var holder = new TcpListener(IPAddress.Any, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["DeployHealth:ProbeListener:Port"] = port.ToString() }));

        Assert.Contains($"DeployHealth:ProbeListener:Port {port} is already in use on 0.0.0.0", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DeployHealth:ProbeListener:Port", "0", "DeployHealth:ProbeListener:Port must be a TCP port from 1 to 65535 (was 0)")]
    [InlineData("DeployHealth:ProbeListener:Port", "70000", "DeployHealth:ProbeListener:Port must be a TCP port from 1 to 65535 (was 70000)")]
    [InlineData("DeployHealth:ProbeListener:Address", "probe.local", "DeployHealth:ProbeListener:Address must be an IP address such as 0.0.0.0, :: or 127.0.0.1 (was 'probe.local')")]
    [InlineData("DeployHealth:Agent:Port", "18081", "DeployHealth:ProbeListener:Port and DeployHealth:Agent:Port must differ (both were 18081)")]
    [InlineData("DeployHealth:ProbeListener:DetailsForLoopback", "true", "DeployHealth:ProbeListener:DetailsForLoopback gives details only on the probe listener bound to loopback")]
    [InlineData("DeployHealth:OverloadThreshold", "-00:00:01", "DeployHealth:OverloadThreshold must not be negative")]
    public async Task Start_BadProbeSettings_FailBeforeTheServerBinds_NamingTheKey(string key, string value, string expected)
    {
        // Tried: a probe listener on 18081 of all interfaces, with one bad setting each.
        var configuration = new Dictionary<string, string?> { ["DeployHealth:ProbeListener:Port"] = "18081", [key] = value };

        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth(), configuration: configuration));

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    private static double Percentile(IReadOnlyList<ProbeTry> probes, double rank)
    {
        var sorted = probes.Select(p => p.Elapsed.TotalMilliseconds).Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(rank * sorted.Length))];
    }

    private static Task<KestrelApp> StartAsync(Action<DeployHealthBuilder>? checks = null) =>
        KestrelApp.StartAsync(
            builder => (checks ?? (_ => { }))(builder.Services.AddDeployHealth()),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(),
                ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            });

    /// <summary>The listener answers from the last evaluation and never waits: wait for the first one here.</summary>
    private static async Task WaitForEvaluationAsync(KestrelApp app) =>
        await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync();
}

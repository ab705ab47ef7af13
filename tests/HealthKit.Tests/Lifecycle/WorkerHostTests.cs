// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// A host shaped like <c>dotnet new worker</c> (tests/HealthKit.TestWorker: Host.CreateApplicationBuilder, a
/// BackgroundService that beats a heartbeat, AddDeployHealth, no web server), run as its own process with
/// <c>DeployHealth:ProbeListener:Port</c>: what an orchestrator probing a queue worker sees.
/// </summary>
public sealed class WorkerHostTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static string Worker => SampleProcess.AppPath("HealthKit.TestWorker");

    [Fact]
    public async Task Worker_StuckHeartbeat_FailsLiveReadyAndProbeCommand_RecoversAndStopsOnSigterm()
    {
        var data = ServerHost.CreateTempDirectory("worker");
        try
        {
            var stall = Path.Combine(data.FullName, "stall");
            var port = ServerHost.GetFreePort();
            var environment = new Dictionary<string, string?>
            {
                ["DeployHealth__ProbeListener__Port"] = port.ToString(),
                ["DeployHealth__ProbeListener__Address"] = "127.0.0.1",
                ["DeployHealth__Drain__Delay"] = "00:00:00",
                ["Worker__StallFile"] = stall,
            };
            await using var worker = SampleProcess.Start(Worker, [], environment);
            await worker.WaitForOutputAsync($"HealthKit probe listener on 127.0.0.1:{port}", Bound);
            var probes = new Uri($"http://127.0.0.1:{port}/");

            // Starts without an HTTP server and says so; the probe port answers both probes.
            await WaitForStatusAsync(worker, probes, "/health/live", 200);
            await WaitForStatusAsync(worker, probes, "/health/ready", 200);
            Assert.Contains("main port: none (no HTTP server", worker.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unable to resolve service", worker.Output, StringComparison.Ordinal);
            await AssertProbeCommandAsync(environment, "live", port, 200, 0);
            await AssertProbeCommandAsync(environment, "ready", port, 200, 0);

            // The loop gets stuck in a work item: its heartbeat goes overdue, and a stuck worker is not alive.
            await File.WriteAllTextAsync(stall, "stuck");
            await worker.WaitForOutputAsync("Work item stuck", Bound);
            await WaitForStatusAsync(worker, probes, "/health/live", 503);
            await WaitForStatusAsync(worker, probes, "/health/ready", 503);
            await AssertProbeCommandAsync(environment, "live", port, 503, 1);
            await AssertProbeCommandAsync(environment, "ready", port, 503, 1);

            // The work item finishes, the loop beats again: both probes and the command come back.
            File.Delete(stall);
            await WaitForStatusAsync(worker, probes, "/health/live", 200);
            await WaitForStatusAsync(worker, probes, "/health/ready", 200);
            await AssertProbeCommandAsync(environment, "live", port, 200, 0);
            await AssertProbeCommandAsync(environment, "ready", port, 200, 0);

            var exitedOnSignal = await worker.StopAsync(TimeSpan.FromSeconds(30));
            Assert.True(exitedOnSignal, $"The worker did not stop on SIGTERM.\n{worker.Output}");
            Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}\n{worker.Output}");
        }
        finally
        {
            ServerHost.DeleteTempDirectory(data);
        }
    }

    [Fact]
    public async Task Worker_ProbePortInUse_ExitsNamingTheKey()
    {
        // Tried: DeployHealth:ProbeListener:Port set to a port another socket already listens on.
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var output = await RunToFailureAsync(port.ToString());

        Assert.Contains($"DeployHealth:ProbeListener:Port {port} is already in use on 127.0.0.1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("70000", "DeployHealth:ProbeListener:Port must be a TCP port from 1 to 65535 (was 70000)")]
    [InlineData("-1", "DeployHealth:ProbeListener:Port must be a TCP port from 1 to 65535 (was -1)")]
    [InlineData("eighty", "DeployHealth:ProbeListener:Port (environment variable DeployHealth__ProbeListener__Port) must be a whole number (was 'eighty')")]
    [InlineData("8081/tcp", "DeployHealth:ProbeListener:Port (environment variable DeployHealth__ProbeListener__Port) must be a whole number (was '8081/tcp')")]
    public async Task Worker_BadProbePort_ExitsNamingTheKey(string value, string expected)
    {
        // Tried: DeployHealth__ProbeListener__Port as a container's environment gives it, out of range or not a number.
        var output = await RunToFailureAsync(value);

        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    /// <summary>Starts the worker with <paramref name="probePort"/> and returns its output once it has exited, non-zero.</summary>
    private static async Task<string> RunToFailureAsync(string probePort)
    {
        await using var worker = SampleProcess.Start(Worker, [], new Dictionary<string, string?>
        {
            ["DeployHealth__ProbeListener__Port"] = probePort,
            ["DeployHealth__ProbeListener__Address"] = "127.0.0.1",
        });
        var exited = await worker.WaitForExitAsync(Bound);

        Assert.True(exited, $"The worker still ran after {Bound.TotalSeconds:0} s with ProbeListener:Port '{probePort}'. Output:\n{worker.Output}");
        Assert.True(worker.ExitCode != 0, $"The worker exited 0 with ProbeListener:Port '{probePort}'. Output:\n{worker.Output}");
        Assert.DoesNotContain("HealthKit probe listener on", worker.Output, StringComparison.Ordinal);
        return worker.Output;
    }

    /// <summary>Polls <paramref name="path"/> on the probe port until it answers <paramref name="status"/>, within <see cref="Bound"/>.</summary>
    private static async Task WaitForStatusAsync(SampleProcess worker, Uri probes, string path, int status)
    {
        var start = Stopwatch.GetTimestamp();
        RawResponse? last = null;
        while (Stopwatch.GetElapsedTime(start) < Bound)
        {
            if (worker.HasExited)
            {
                Assert.Fail($"The worker exited (code {worker.ExitCode}) while {path} was expected to answer {status}. Output:\n{worker.Output}");
            }

            last = await RawHttp.GetAsync(probes, path, "10.0.3.7:8081");
            if (last.Status == status)
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{path} on the probe port did not answer {status} within {Bound.TotalSeconds:0} s; last answer {last}. Output:\n{worker.Output}");
    }

    /// <summary>Runs <c>dotnet HealthKit.TestWorker.dll --health-probe {kind}</c> as a container's HEALTHCHECK does.</summary>
    private static async Task AssertProbeCommandAsync(Dictionary<string, string?> environment, string kind, int port, int status, int exitCode)
    {
        await using var probe = SampleProcess.Start(Worker, ["--health-probe", kind], environment);
        var exited = await probe.WaitForExitAsync(Bound);

        Assert.True(exited, $"--health-probe {kind} still ran after {Bound.TotalSeconds:0} s. Output:\n{probe.Output}");
        Assert.True(probe.ExitCode == exitCode, $"--health-probe {kind}: exit {probe.ExitCode}, expected {exitCode}. Output:\n{probe.Output}");
        Assert.Contains($"http://127.0.0.1:{port}/health/{kind} {status}", probe.Output, StringComparison.Ordinal);
    }
}

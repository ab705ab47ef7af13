// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HealthKit.Doors.Command;
using HealthKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HealthKit.Tests.Doors.Command;

/// <summary>
/// <c>dotnet app.dll --health-probe</c>, the probe of images without curl: how it finds its target, and the sample
/// application run as a real probe process against a real running instance of itself.
/// </summary>
public sealed class ProbeCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Bounds a probe process; its own request gives up after 3 s, the rest is the runtime starting.</summary>
    private static readonly TimeSpan ProbeProcessTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Parse_NoFlag_IsNotAProbe()
    {
        Assert.Null(ProbeCommand.Parse(["/app/app.dll", "--urls", "http://+:8080"], Environment(("ASPNETCORE_HTTP_PORTS", "8080"))));
        Assert.Null(ProbeCommand.Parse([], Environment()));
    }

    [Theory]
    [InlineData(new[] { "/app/app.dll", "--health-probe" }, "http://127.0.0.1:8080/health/live")]
    [InlineData(new[] { "/app/app.dll", "--health-probe", "live" }, "http://127.0.0.1:8080/health/live")]
    [InlineData(new[] { "/app/app.dll", "--health-probe", "ready" }, "http://127.0.0.1:8080/health/ready")]
    [InlineData(new[] { "/app/app.dll", "--HEALTH-PROBE", "Ready" }, "http://127.0.0.1:8080/health/ready")]
    [InlineData(new[] { "/app/app.dll", "--health-probe", "--urls", "http://127.0.0.1:9" }, "http://127.0.0.1:9/health/live")]
    [InlineData(new[] { "/app/app.dll", "--health-probe", "ready", "--urls=http://+:5020" }, "http://127.0.0.1:5020/health/ready")]
    [InlineData(new[] { "/app/app.dll", "--health-probe", "http://10.1.2.3:5000/status" }, "http://10.1.2.3:5000/status")]
    public void Parse_Flag_TargetsLoopbackLivenessUnlessTold(string[] args, string expected)
    {
        Assert.Equal(new Uri(expected), ProbeCommand.Parse(args, Environment(("ASPNETCORE_HTTP_PORTS", "8080"))));
    }

    [Theory]
    [InlineData("ASPNETCORE_HTTP_PORTS", "5000", "http://127.0.0.1:5000/health/live")]
    [InlineData("ASPNETCORE_HTTP_PORTS", "5000;5001", "http://127.0.0.1:5000/health/live")]
    [InlineData("HTTP_PORTS", "5002,5003", "http://127.0.0.1:5002/health/live")]
    [InlineData("ASPNETCORE_URLS", "http://+:5004", "http://127.0.0.1:5004/health/live")]
    [InlineData("ASPNETCORE_URLS", "http://[::]:5005/", "http://127.0.0.1:5005/health/live")]
    [InlineData("ASPNETCORE_URLS", "https://+:5443;http://localhost:5006", "http://127.0.0.1:5006/health/live")]
    [InlineData("URLS", "http://0.0.0.0:5007", "http://127.0.0.1:5007/health/live")]
    [InlineData("ASPNETCORE_URLS", "https://+:5443", "http://127.0.0.1:8080/health/live")]
    [InlineData("NOTHING", "", "http://127.0.0.1:8080/health/live")]
    public void Parse_PortFromTheContainerVariables_ElseThe8080OfDotnetImages(string variable, string value, string expected)
    {
        Assert.Equal(new Uri(expected), ProbeCommand.Parse(["app.dll", "--health-probe"], Environment((variable, value))));
    }

    [Fact]
    public void Parse_UrlsAndHttpPortsBothSet_UrlsWinAsKestrelBinds_AndConfiguredPath()
    {
        // Tried: the official images' ASPNETCORE_HTTP_PORTS=8080 plus an ASPNETCORE_URLS the image adds. Kestrel binds
        // the URLs (and logs that it overrides HTTP_PORTS), so the probe must go there too.
        var target = ProbeCommand.Parse(
            ["app.dll", "--health-probe", "ready"],
            Environment(("ASPNETCORE_URLS", "http://+:5010"), ("ASPNETCORE_HTTP_PORTS", "5011"), ("DeployHealth__Path", "/status/")));

        Assert.Equal(new Uri("http://127.0.0.1:5010/status/ready"), target);
    }

    [Theory]
    [InlineData(null, "http://127.0.0.1:9090/health/live")]
    [InlineData("0.0.0.0", "http://127.0.0.1:9090/health/live")]
    [InlineData("::", "http://127.0.0.1:9090/health/live")]
    [InlineData("127.0.0.1", "http://127.0.0.1:9090/health/live")]
    [InlineData("10.1.2.3", "http://10.1.2.3:9090/health/live")]
    [InlineData("::1", "http://[::1]:9090/health/live")]
    public void Parse_ProbePortSet_WinsOverUrlsAndHttpPorts(string? probeAddress, string expected)
    {
        var target = ProbeCommand.Parse(
            ["app.dll", "--health-probe", "--urls", "http://+:5030"],
            Environment(("DeployHealth__ProbeListener__Port", "9090"), ("DeployHealth__ProbeListener__Address", probeAddress), ("ASPNETCORE_URLS", "http://+:5031"), ("ASPNETCORE_HTTP_PORTS", "5032")));

        Assert.Equal(new Uri(expected), target);
    }

    [Theory]
    [InlineData("redy")]
    [InlineData("8081")]
    [InlineData("/health/ready")]
    [InlineData("ftp://127.0.0.1/health")]
    [InlineData("http://[::1")]
    public void Run_ArgumentNeitherKindNorHttpUrl_ExitsOneNamingIt(string argument)
    {
        var target = ProbeCommand.Parse(["app.dll", "--health-probe", argument], Environment());
        using var text = new StringWriter();

        Assert.NotNull(target);
        Assert.Equal(1, ProbeCommand.Run(target, text));
        Assert.Contains("is neither live, ready nor an absolute http:// or https:// URL", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_AgainstRunningSample_ExitsZeroAndNeverBindsAPort()
    {
        var data = ServerHost.CreateTempDirectory("sample");
        try
        {
            await using var sample = SampleProcess.Start(new Dictionary<string, string?>
            {
                ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(data.FullName, "sample.db")}",
            });
            await sample.WaitForListeningAsync(StartTimeout);

            // The sample's own first evaluation (migrations, page renders) may still run: the probe of readiness
            // is compared against the instance once it is ready, not raced against its start.
            await ServerHost.WaitUntilAsync(
                "the sample's readiness to answer 200",
                async () => (await RawHttp.GetAsync(sample.Address, "/health/ready", "localhost")).Status == 200,
                StartTimeout);
            var ports = new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = sample.Port.ToString() };

            var live = await RunProbeAsync(["--health-probe"], ports);
            var ready = await RunProbeAsync(["--health-probe", "ready"], ports);
            var byUrls = await RunProbeAsync(["--health-probe"], new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = $"http://+:{sample.Port}" });

            // Both set, as an image that adds URLS to the official images' HTTP_PORTS=8080 has them: URLS wins.
            var both = await RunProbeAsync(["--health-probe"], new Dictionary<string, string?>
            {
                ["ASPNETCORE_HTTP_PORTS"] = ServerHost.GetFreePort().ToString(),
                ["ASPNETCORE_URLS"] = $"http://+:{sample.Port}",
            });

            Assert.True(live.ExitCode == 0, $"{live}\n{sample.Output}");
            Assert.Contains($"http://127.0.0.1:{sample.Port}/health/live 200", live.Output, StringComparison.Ordinal);
            Assert.True(ready.ExitCode == 0, $"{ready}\n{sample.Output}");
            Assert.Contains($"http://127.0.0.1:{sample.Port}/health/ready 200", ready.Output, StringComparison.Ordinal);
            Assert.True(byUrls.ExitCode == 0, byUrls.ToString());
            Assert.Contains($"http://127.0.0.1:{sample.Port}/health/live 200", byUrls.Output, StringComparison.Ordinal);
            Assert.True(both.ExitCode == 0, both.ToString());
            Assert.Contains($"http://127.0.0.1:{sample.Port}/health/live 200", both.Output, StringComparison.Ordinal);
            Assert.False(sample.HasExited, sample.Output);
        }
        finally
        {
            ServerHost.DeleteTempDirectory(data);
        }
    }

    [Fact]
    public async Task Probe_NothingListens_ExitsOneWithinItsTimeout()
    {
        var closedPort = ServerHost.GetFreePort();

        var run = await RunProbeAsync(["--health-probe", "ready"], new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = closedPort.ToString() });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"http://127.0.0.1:{closedPort}/health/ready failed:", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_MistypedKind_ExitsOneWithAMessageNotACrash()
    {
        var run = await RunProbeAsync(["--health-probe", "redy"], new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = "8080" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("--health-probe: 'redy' is neither live, ready nor", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <c>dotnet HealthKit.Sample.dll {args} --urls http://127.0.0.1:{free port}</c> with a clean environment plus
    /// <paramref name="environment"/>, watching that port the whole time: a probe that built the host would bind it.
    /// </summary>
    private async Task<ProbeRun> RunProbeAsync(string[] args, Dictionary<string, string?> environment)
    {
        var ownPort = ServerHost.GetFreePort();
        var info = new ProcessStartInfo
        {
            FileName = DotnetHost(),
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(SampleProcess.AssemblyPath)!,
        };
        info.ArgumentList.Add(SampleProcess.AssemblyPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in info.Environment.Keys.ToList())
        {
            if (name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || name.Contains("__", StringComparison.Ordinal) || name is "URLS" or "HTTP_PORTS")
            {
                info.Environment.Remove(name);
            }
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        // An endpoint the host would bind if the probe built it; the probe itself reads URLs and ports, not this.
        info.Environment["Kestrel__Endpoints__Watch__Url"] = $"http://127.0.0.1:{ownPort}";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var accepted = 0;
        using var bound = new CancellationTokenSource(ProbeProcessTimeout);
        while (!process.HasExited && !bound.IsCancellationRequested)
        {
            if (await ConnectsAsync(ownPort))
            {
                accepted++;
            }

            await Task.Delay(20);
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The probe still ran after {ProbeProcessTimeout.TotalSeconds:0} s. Output:\n{await stdout}{await stderr}");
        }

        await process.WaitForExitAsync();
        var elapsed = Stopwatch.GetElapsedTime(start);
        var run = new ProbeRun(process.ExitCode, await stdout + await stderr, elapsed);
        output.WriteLine($"dotnet HealthKit.Sample.dll {string.Join(' ', args)}: {run}");
        Assert.True(accepted == 0 && !await ConnectsAsync(ownPort), $"The probe process listened on its own --urls port {ownPort}. {run}");
        return run;
    }

    private static async Task<bool> ConnectsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string DotnetHost()
    {
        var current = System.Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet"
            ? current
            : ServerHost.FindExecutable("dotnet", "dotnet-sdk-10.0");
    }

    private static Func<string, string?> Environment(params (string Name, string? Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    private sealed record ProbeRun(int ExitCode, string Output, TimeSpan Elapsed)
    {
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalMilliseconds:0} ms, output '{Output.Trim()}'";
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// The sample application (samples/HealthKit.Sample), or one of the test apps (<see cref="AppPath"/>), started the way a
/// deploy starts it: its own process, <c>dotnet HealthKit.Sample.dll --urls http://127.0.0.1:PORT</c>, in the
/// Production environment, configured only through environment variables. For what only a real process shows: exit
/// code, console output, the port.
/// </summary>
public sealed class SampleProcess : IAsyncDisposable
{
    /// <summary>The line Kestrel logs once it listens.</summary>
    public const string ListeningLine = "Now listening on";

    private readonly ServerProcess _process;

    private SampleProcess(ServerProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The sample's build output, written into this assembly by the test project's build.</summary>
    public static string AssemblyPath { get; } = AppPath("HealthKit.Sample");

    /// <summary>
    /// The build output of tests/HealthKit.PlainApp: what <c>dotnet new web</c> generates plus <c>AddDeployHealth()</c>,
    /// for what only a process that loaded nothing else shows (the assemblies HealthKit makes a plain app load).
    /// </summary>
    public static string PlainAppAssemblyPath => AppPath("HealthKit.PlainApp");

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr so far, in the order it arrived.</summary>
    public string Output => _process.Output;

    /// <summary>
    /// Starts the sample on a free loopback port. Inherited variables that the sample would read as configuration
    /// are removed first, so only <paramref name="environment"/> (a <see langword="null"/> value removes a variable)
    /// and the sample's appsettings.json configure it.
    /// </summary>
    public static SampleProcess Start(IReadOnlyDictionary<string, string?> environment) => Start(AssemblyPath, [], environment);

    /// <summary>Starts the application at <paramref name="assemblyPath"/> as <see cref="Start(IReadOnlyDictionary{string, string?})"/> starts the sample.</summary>
    public static SampleProcess Start(IReadOnlyDictionary<string, string?> environment, string assemblyPath) => Start(assemblyPath, [], environment);

    /// <summary>
    /// Starts the app built at <paramref name="assemblyPath"/> as <see cref="Start(IReadOnlyDictionary{string, string?})"/>
    /// starts the sample, with <paramref name="arguments"/> after its <c>--urls</c> (a host without Kestrel ignores it).
    /// </summary>
    public static SampleProcess Start(string assemblyPath, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment) =>
        Start(assemblyPath, arguments, environment, cgroupProcs: null);

    /// <summary>
    /// Starts the app built at <paramref name="assemblyPath"/> inside a cgroup, by writing its PID to
    /// <paramref name="cgroupProcs"/> (the group's <c>cgroup.procs</c>) before the runtime starts: the runtime reads its
    /// memory limit once, at start, so a process moved into the group later would not see it.
    /// </summary>
    public static SampleProcess StartInCgroup(string assemblyPath, string cgroupProcs, IReadOnlyDictionary<string, string?> environment) =>
        Start(assemblyPath, [], environment, cgroupProcs);

    private static SampleProcess Start(string assemblyPath, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment, string? cgroupProcs)
    {
        var port = ServerHost.GetFreePort();
        string[] command = [FindDotnet(), assemblyPath, "--urls", $"http://127.0.0.1:{port}", .. arguments];

        // The shell joins the group, then exec keeps its PID for dotnet: the process the test stops is the app.
        var process = ServerProcess.Start(
            cgroupProcs is null ? command[0] : "/bin/sh",
            cgroupProcs is null ? command[1..] : ["-c", "echo $$ > \"$0\" && exec \"$@\"", cgroupProcs, .. command],

            // The content root is the working directory: where appsettings.json is.
            Path.GetDirectoryName(assemblyPath)!,
            configure: info => Configure(info.Environment, environment),

            // Every line: the tests read the one failure message among the host's logs and stack traces.
            keptLines: int.MaxValue);
        return new SampleProcess(process, port);
    }

    /// <summary>Waits for the process to exit and for its output to be read; false when it still runs after <paramref name="timeout"/>.</summary>
    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Waits until Kestrel logged that it listens.</summary>
    /// <exception cref="InvalidOperationException">The process exited first (the message has its output).</exception>
    /// <exception cref="TimeoutException">It did not listen within <paramref name="timeout"/>.</exception>
    public Task WaitForListeningAsync(TimeSpan timeout) => WaitForOutputAsync(ListeningLine, timeout);

    /// <summary>Waits until the process wrote <paramref name="text"/> (a log line it writes once it is up, say).</summary>
    /// <exception cref="InvalidOperationException">The process exited first (the message has its output).</exception>
    /// <exception cref="TimeoutException">It did not write it within <paramref name="timeout"/>.</exception>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The process exited (code {_process.ExitCode}) before it wrote '{text}'. Output:\n{Output}");
            }

            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                throw new TimeoutException($"The process did not write '{text}' within {timeout.TotalSeconds:0} s. Output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Connects to <see cref="Port"/> every 20 ms until the process exits (or <paramref name="timeout"/> passes) and
    /// counts the outcomes: a run that fails before Kestrel starts has every attempt refused.
    /// </summary>
    public async Task<(int Refused, int Accepted)> WatchPortUntilExitAsync(TimeSpan timeout)
    {
        var refused = 0;
        var accepted = 0;
        var start = Stopwatch.GetTimestamp();
        while (!_process.HasExited && Stopwatch.GetElapsedTime(start) < timeout)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, Port);
                accepted++;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
            {
                refused++;
            }

            await Task.Delay(20);
        }

        return (refused, accepted);
    }

    /// <summary>
    /// Stops the sample with SIGTERM to its PID, as a container runtime does, and waits for it to exit; kills it
    /// after <paramref name="grace"/>. Returns whether it exited on the signal alone.
    /// </summary>
    public Task<bool> StopAsync(TimeSpan grace) => _process.StopAsync(UnixSignal.Terminate, grace);

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static void Configure(IDictionary<string, string?> variables, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var name in variables.Keys.ToList())
        {
            if (IsConfiguration(name))
            {
                variables.Remove(name);
            }
        }

        variables["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                variables.Remove(name);
            }
            else
            {
                variables[name] = value;
            }
        }
    }

    /// <summary>
    /// Whether an inherited variable would configure the sample: the host reads every environment variable as
    /// configuration (<c>Section__Key</c>), and ASPNETCORE_/DOTNET_ENVIRONMENT pick the environment and URLs.
    /// The runtime's own DOTNET_ settings are kept.
    /// </summary>
    private static bool IsConfiguration(string name) =>
        name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || name.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
        || name.Equals("AllowedHosts", StringComparison.OrdinalIgnoreCase)
        || (name.Contains("__", StringComparison.Ordinal) && !name.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The build output of an app the tests start as a process (<c>HealthKit.Sample</c>, <c>HealthKit.PlainApp</c>,
    /// <c>HealthKit.TestWorker</c>, <c>HealthKit.TestBusyApp</c>), written into this assembly by the test project's build.
    /// </summary>
    public static string AppPath(string project)
    {
        var path = typeof(SampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == project)?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The build output '{path}' of {project} does not exist. HealthKit.Tests.csproj references the app so that building the tests builds it; build the test project, not only its assembly.");
        }

        return path;
    }

    /// <summary>The dotnet host running these tests, so the sample runs on the same runtime.</summary>
    private static string FindDotnet()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        return ServerHost.FindExecutable("dotnet", "dotnet-sdk-10.0", string.IsNullOrEmpty(root) ? [] : [root]);
    }
}

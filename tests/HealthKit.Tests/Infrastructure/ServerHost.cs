// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// What the real-server fixtures (PostgreSQL, Redis, HAProxy, nginx) share: finding a binary, a free loopback port,
/// a temp directory, signals by PID, running a command to completion and bounded polls. One place, so the fixtures
/// differ only in what their servers need.
/// </summary>
public static class ServerHost
{
    private const string PortInUse = "Address already in use";

    private static readonly string[] SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>Whether the tests run as root, in which case PostgreSQL has to be started as another user.</summary>
    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>
    /// Finds <paramref name="name"/> in <paramref name="preferredDirectories"/>, then on PATH, then in the system
    /// directories (sbin is not on a normal user's PATH, and HAProxy and nginx live there).
    /// </summary>
    /// <exception cref="InvalidOperationException">The binary is not installed; the message names the Debian package.</exception>
    public static string FindExecutable(string name, string aptPackage, params string[] preferredDirectories)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var directories = preferredDirectories
            .Concat(path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            .Concat(SystemDirectories);
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' is not installed, and the tests need it to start a real server. Install the Debian package: " +
            $"apt-get install -y {aptPackage} (build/test.sh installs every server the tests use).");
    }

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on right now.</summary>
    public static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A new directory under the temp directory, readable only by the current user (like <c>mktemp -d</c>).</summary>
    public static DirectoryInfo CreateTempDirectory(string server) => Directory.CreateTempSubdirectory($"healthkit-{server}-");

    /// <summary>Removes a fixture's temp directory; a leftover in /tmp is not worth failing a test for.</summary>
    public static void DeleteTempDirectory(DirectoryInfo? directory)
    {
        if (directory is null)
        {
            return;
        }

        try
        {
            directory.Refresh();
            if (directory.Exists)
            {
                directory.Delete(recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the process <paramref name="pid"/>; false when it no longer exists.</summary>
    public static bool Signal(int pid, UnixSignal signal) => Kill(pid, (int)signal) == 0;

    /// <summary>Runs a command to completion and returns its exit code and combined output.</summary>
    /// <exception cref="TimeoutException">The command did not finish within <paramref name="timeout"/>; it is killed.</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? runAsUser = null)
    {
        await using var process = ServerProcess.Start(fileName, arguments, Path.GetTempPath(), runAsUser);
        if (!await process.WaitForExitAsync(timeout))
        {
            throw new TimeoutException($"'{fileName}' did not finish within {timeout.TotalSeconds:0} s. Output:\n{process.Output}");
        }

        return (process.ExitCode, process.Output);
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms until it is true, for at most <paramref name="timeout"/>.
    /// Fails at once, with the server's output, when <paramref name="server"/> exits meanwhile.
    /// </summary>
    /// <exception cref="TimeoutException">The condition stayed false.</exception>
    /// <exception cref="InvalidOperationException">The server exited before the condition became true.</exception>
    public static async Task WaitUntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, ServerProcess? server = null)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            if (server is { HasExited: true })
            {
                throw new InvalidOperationException($"The server exited (code {server.ExitCode}) while waiting for {what}. Output:\n{server.Output}");
            }

            if (await condition())
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                var output = server is null ? string.Empty : $" Output:\n{server.Output}";
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.{output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits until a TCP connection to 127.0.0.1:<paramref name="port"/> succeeds.</summary>
    public static Task WaitForPortAsync(int port, ServerProcess server, TimeSpan? timeout = null) =>
        WaitUntilAsync($"127.0.0.1:{port} to accept connections", () => AcceptsAsync(port), timeout ?? TimeSpan.FromSeconds(30), server);

    /// <summary>Whether a TCP connection to 127.0.0.1:<paramref name="port"/> succeeds within a second.</summary>
    public static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts a server on a free port, picking another port when the one picked was taken between the pick and the
    /// server's bind (other tests open ports all the time).
    /// </summary>
    public static async Task<T> StartOnFreePortAsync<T>(Func<int, Task<T>> start)
    {
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(GetFreePort());
            }
            catch (InvalidOperationException e) when (attempt < Attempts && e.Message.Contains(PortInUse, StringComparison.Ordinal))
            {
            }
        }
    }

    // DllImport rather than LibraryImport: the generated stubs would need AllowUnsafeBlocks for two int calls.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}

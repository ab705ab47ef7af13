// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real HAProxy in the foreground (<c>-db</c>), its configuration written by the test into a temp directory.
/// What HAProxy thinks of a server is read from its admin stats socket, as an operator would.
/// </summary>
public sealed class HaproxyServer : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly DirectoryInfo _root;

    private HaproxyServer(ServerProcess process, DirectoryInfo root, int port, string statsSocketPath)
    {
        _process = process;
        _root = root;
        Port = port;
        StatsSocketPath = statsSocketPath;
    }

    /// <summary>The port given to the configuration for its frontend.</summary>
    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public string StatsSocketPath { get; }

    /// <summary>The last lines HAProxy wrote (alerts and warnings; traffic logs only if the configuration sends them to stderr).</summary>
    public string Output => _process.Output;

    /// <summary>
    /// The usual test config: the admin socket, plain HTTP with short timeouts, and one frontend on
    /// <paramref name="port"/> sending everything to backend <c>be</c>, whose lines the caller gives. Checks get
    /// <c>timeout check 5s</c>, as production configurations set it: without it HAProxy allows a check only its
    /// <c>inter</c> (the tests' 500 ms), and on a loaded machine a late 200 then counts as a failure (L7TOUT).
    /// </summary>
    public static string SingleBackend(int port, string statsSocket, string backendLines) =>
        $"global\n    stats socket {statsSocket} level admin\n" +
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 5s\n" +
        $"frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n" +
        "backend be\n" + backendLines + "\n";

    /// <summary>
    /// Writes the configuration <paramref name="buildConfig"/> returns for a free port and the stats socket path, starts
    /// HAProxy and returns once that port accepts connections. The configuration must bind its frontend to
    /// <c>127.0.0.1:port</c> and declare <c>stats socket {path} level admin</c> in <c>global</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">HAProxy is not installed, or exited (the message has its output).</exception>
    public static async Task<HaproxyServer> StartAsync(Func<int, string, string> buildConfig)
    {
        ArgumentNullException.ThrowIfNull(buildConfig);
        var binary = ServerHost.FindExecutable("haproxy", "haproxy");
        var root = ServerHost.CreateTempDirectory("haproxy");
        try
        {
            return await ServerHost.StartOnFreePortAsync(async port =>
            {
                var socket = Path.Combine(root.FullName, "admin.sock");
                var config = Path.Combine(root.FullName, "haproxy.cfg");
                // HAProxy rejects a last line without LF, which a C# raw string literal never has.
                await File.WriteAllTextAsync(config, buildConfig(port, socket).TrimEnd() + "\n");
                var process = ServerProcess.Start(binary, ["-f", config, "-db"], root.FullName);
                try
                {
                    await ServerHost.WaitForPortAsync(port, process);
                    return new HaproxyServer(process, root, port, socket);
                }
                catch
                {
                    await process.DisposeAsync();
                    throw;
                }
            });
        }
        catch
        {
            ServerHost.DeleteTempDirectory(root);
            throw;
        }
    }

    /// <summary>Sends one command to the admin stats socket (<c>show stat</c>, <c>set server be/s state drain</c>...) and returns the answer.</summary>
    public async Task<string> SendCommandAsync(string command)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = await ConnectStatsAsync(cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, cts.Token);

        // Without "prompt" HAProxy answers one command and closes the connection.
        var answer = new StringBuilder();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    /// <summary>
    /// Connects to the admin socket, again within <paramref name="cancellationToken"/> when the connect is refused: on a
    /// loaded machine HAProxy may not have accepted the earlier connections yet, and while the socket's backlog is full
    /// Linux refuses the next connect at once (EAGAIN for a non-blocking Unix socket; seen in the fleet tests as a
    /// SocketException "Cannot assign requested address") instead of waiting for room.
    /// </summary>
    private async Task<Socket> ConnectStatsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(StatsSocketPath), cancellationToken);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.TryAgain or SocketError.WouldBlock && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                await Task.Delay(50, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    /// <summary>The <c>status</c> column of <c>show stat</c> for a server: UP, DOWN, "UP 1/2", "DOWN 1/3", NOLB, DRAIN, MAINT, "no check".</summary>
    /// <exception cref="InvalidOperationException">HAProxy reports no such backend/server.</exception>
    public async Task<string> GetServerStatusAsync(string backend, string server)
    {
        var stat = await SendCommandAsync("show stat");
        var lines = stat.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines.FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"'show stat' gave no header: {stat}");
        var status = Array.IndexOf(header[2..].Split(','), "status");
        foreach (var line in lines)
        {
            var fields = line.Split(',');
            if (fields.Length > status && fields[0] == backend && fields[1] == server)
            {
                return fields[status];
            }
        }

        throw new InvalidOperationException($"HAProxy has no server {backend}/{server}:\n{stat}");
    }

    /// <summary>Polls the server's status every 50 ms until <paramref name="predicate"/> accepts it, and returns it.</summary>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>; the message has the last status seen.</exception>
    public async Task<string> WaitForServerStatusAsync(string backend, string server, Func<string, bool> predicate, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var status = await GetServerStatusAsync(backend, server);
            if (predicate(status))
            {
                return status;
            }

            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                throw new TimeoutException($"{backend}/{server} still '{status}' after {timeout.TotalSeconds:0.#} s. HAProxy output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(5));
        await _process.DisposeAsync();
        ServerHost.DeleteTempDirectory(_root);
    }
}

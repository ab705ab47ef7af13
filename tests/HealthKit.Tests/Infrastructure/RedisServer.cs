// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real Redis server of its own on 127.0.0.1 and a free port, without persistence, its working directory a temp
/// directory. <see cref="Freeze"/> makes it hang the way an overloaded or paused server does: connections are
/// accepted by the kernel, nothing is answered. Share it through <see cref="RedisCollection"/>.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private string? _binary;
    private DirectoryInfo? _root;
    private ServerProcess? _process;

    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis configuration string: <c>127.0.0.1:PORT</c>.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The last lines Redis logged.</summary>
    public string Output => _process?.Output ?? string.Empty;

    public async Task InitializeAsync()
    {
        _binary = ServerHost.FindExecutable("redis-server", "redis-server");
        _root = ServerHost.CreateTempDirectory("redis");
        await ServerHost.StartOnFreePortAsync(async port =>
        {
            Port = port;
            await StartAsync();
            return port;
        });
    }

    /// <summary>Starts Redis on <see cref="Port"/> (again, after <see cref="StopAsync"/>), empty; returns once it answers PING.</summary>
    /// <exception cref="InvalidOperationException">Redis is running, or exited while starting (the message has its log).</exception>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("Redis is already running.");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _process = ServerProcess.Start(
            _binary!,
            ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", _root!.FullName],
            _root.FullName);
        try
        {
            await ServerHost.WaitUntilAsync($"Redis on port {Port} to answer PING", AnswersPingAsync, TimeSpan.FromSeconds(30), _process);
        }
        catch (TimeoutException)
        {
            await StopAsync();
            throw;
        }
    }

    /// <summary>Stops Redis (SIGTERM to its PID, after a SIGCONT in case it is frozen); connections are refused until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        Thaw();
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGSTOP to the server: it stays up but answers nothing until <see cref="Thaw"/>.</summary>
    public void Freeze() => ServerHost.Signal(RunningProcess.Id, UnixSignal.Stop);

    /// <summary>SIGCONT to the server: it answers again, including the commands sent while it was frozen.</summary>
    public void Thaw() => ServerHost.Signal(RunningProcess.Id, UnixSignal.Continue);

    /// <summary>
    /// Sends one command over a new connection in raw RESP and returns the reply: a simple string or an integer as
    /// text, a bulk string's content (null for a nil reply), an array's elements one per line.
    /// </summary>
    /// <exception cref="TimeoutException">No full reply within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
    public async Task<string?> ExecuteAsync(TimeSpan timeout, params string[] command)
    {
        ArgumentOutOfRangeException.ThrowIfZero(command.Length);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cts.Token);
            var stream = client.GetStream();
            var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
            foreach (var part in command)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cts.Token);
            var reader = new RespReader(stream);
            return await reader.ReadReplyAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"Redis on port {Port} did not answer {command[0]} within {timeout.TotalMilliseconds:0} ms.");
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await StopAsync();
            await _process.DisposeAsync();
        }

        ServerHost.DeleteTempDirectory(_root);
    }

    private ServerProcess RunningProcess => _process is { HasExited: false } process ? process : throw new InvalidOperationException("Redis is not running.");

    private async Task<bool> AnswersPingAsync()
    {
        try
        {
            return await ExecuteAsync(TimeSpan.FromSeconds(1), "PING") == "PONG";
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or InvalidOperationException)
        {
            // Refused while starting, or -LOADING: not ready yet.
            return false;
        }
    }

    /// <summary>Reads one RESP reply, byte by byte: replies in tests are a few bytes.</summary>
    private sealed class RespReader(Stream stream)
    {
        private readonly byte[] _one = new byte[1];

        public async Task<string?> ReadReplyAsync(CancellationToken cancellationToken)
        {
            var line = await ReadLineAsync(cancellationToken);
            var payload = line[1..];
            switch (line[0])
            {
                case '+':
                case ':':
                    return payload;
                case '-':
                    throw new InvalidOperationException($"Redis replied with an error: {payload}");
                case '$':
                    var length = int.Parse(payload, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var data = new byte[length + 2];
                    await stream.ReadExactlyAsync(data, cancellationToken);
                    return Encoding.UTF8.GetString(data, 0, length);
                case '*':
                    var count = int.Parse(payload, CultureInfo.InvariantCulture);
                    var items = new List<string?>();
                    for (var i = 0; i < count; i++)
                    {
                        items.Add(await ReadReplyAsync(cancellationToken));
                    }

                    return string.Join('\n', items);
                default:
                    throw new InvalidOperationException($"Not a RESP reply: {line}");
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new StringBuilder();
            while (true)
            {
                if (await stream.ReadAsync(_one, cancellationToken) == 0)
                {
                    throw new IOException("Redis closed the connection before a full reply.");
                }

                if (_one[0] == '\n' && line.Length > 0 && line[^1] == '\r')
                {
                    return line.ToString(0, line.Length - 1);
                }

                line.Append((char)_one[0]);
            }
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Balancers;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.Agent;

/// <summary>
/// An HAProxy <c>agent-check</c> listener: one line per connection, then close. It answers from the drain state and
/// the last readiness result without waiting for a dependency; a result older than the cache period starts one
/// evaluation in the background (or joins the running one), so any number of agent connections cost at most one
/// evaluation per <see cref="DeployHealthOptions.CacheDuration"/>, and the agent notices a failing dependency even
/// when it is the only prober. Like the probe listener it runs on one thread of its own over non-blocking sockets,
/// never the thread pool, so it answers while the app's requests starve the pool: accept, write the line, half-close,
/// read what the agent sends until it closes; the answer and the lingering close each have a deadline.
/// </summary>
internal sealed partial class AgentListener(
    HealthVerdict verdict,
    IOptions<DeployHealthOptions> options,
    ILogger<AgentListener> logger,
    ProberLedger? balancers = null) : IHostedService, IDisposable
{
    /// <summary>From accept to the line's last byte sent: an agent that does not read it is dropped.</summary>
    internal static readonly TimeSpan AnswerDeadline = TimeSpan.FromSeconds(2);

    /// <summary>The whole lingering close after the line, whatever the agent sends (<c>agent-send</c>).</summary>
    internal static readonly TimeSpan LingerDeadline = TimeSpan.FromSeconds(1);

    /// <summary>Open connections at once; beyond it the oldest is closed, as on the probe listener.</summary>
    internal const int MaxConnections = 1024;

    /// <summary>What the lingering close reads (and discards) at most before it closes anyway.</summary>
    private const int MaxDrainBytes = 16 * 1024;

    /// <summary>The loop wakes at least this often, to see a stop; deadlines wake it sooner.</summary>
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);

    private static readonly byte[] Up = "up ready\n"u8.ToArray();
    private static readonly byte[] Drain = "drain #draining\n"u8.ToArray();
    private static readonly byte[] Starting = "down #starting\n"u8.ToArray();

    // Touched only by the loop's thread.
    private readonly List<Connection> _open = [];
    private readonly byte[] _discard = new byte[1024];

    private long _acceptPausedUntil;
    private DedicatedLoop? _loop;
    private Socket? _listener;

    /// <summary>
    /// Binds while the host starts, before HAProxy's first agent check can come; a port already in use stops the start.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Agent.Port is not { } port)
        {
            return Task.CompletedTask;
        }

        var address = IPAddress.Parse(settings.Agent.Address);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(MaxConnections);
            listener.Blocking = false;
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;

        // A thread of its own, never the pool's: HAProxy takes a server out when its agent stops answering.
        _loop = new DedicatedLoop("HealthKit agent", IdleWait + TimeSpan.FromSeconds(1));
        _loop.Start(Run);
        Log.Listening(logger, settings.Agent.Address, port);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // The loop closes the listener and every connection as it ends, within one wait.
        _loop?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _loop?.Dispose();

    internal byte[] CurrentLine()
    {
        // The agent answers now from what is known, and HAProxy asks again every agent-inter; the verdict starts a
        // refresh when the result is stale, so an agent-only setup (no httpchk, no background evaluation) still
        // notices a failing dependency.
        var current = verdict.Readiness();
        return current.Cause switch
        {
            _ when current.IsUp => Up,
            VerdictReason.Draining => Drain,
            VerdictReason.Starting => Starting,

            // Names of failing checks only: the agent line shows in HAProxy's stats page, so no exception text.
            VerdictReason.ChecksFailing => Encoding.ASCII.GetBytes("down #" + string.Join(',', current.FailingChecks) + " unhealthy\n"),
            _ => Encoding.ASCII.GetBytes("down #" + current.Reason + "\n"),
        };
    }

    /// <summary>Waits until the listener or a connection is ready or a deadline is due; every socket call returns at once.</summary>
    private void Run(CancellationToken stopping)
    {
        var listener = _listener!;
        var readable = new List<Socket>();
        var writable = new List<Socket>();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var now = Environment.TickCount64;
                var wait = (long)IdleWait.TotalMilliseconds;
                readable.Clear();
                writable.Clear();
                if (now >= _acceptPausedUntil)
                {
                    readable.Add(listener);
                }
                else
                {
                    wait = Math.Min(wait, _acceptPausedUntil - now);
                }

                foreach (var connection in _open)
                {
                    (connection.Lingering ? readable : writable).Add(connection.Socket);
                    wait = Math.Min(wait, connection.Deadline - now);
                }

                var timeout = TimeSpan.FromMilliseconds(Math.Max(wait, 1));
                if (readable.Count == 0 && writable.Count == 0)
                {
                    stopping.WaitHandle.WaitOne(timeout);
                    continue;
                }

                try
                {
                    Socket.Select(readable.Count > 0 ? readable : null, writable.Count > 0 ? writable : null, null, timeout);
                }
                catch (SocketException exception)
                {
                    Log.AcceptFailed(logger, exception.SocketErrorCode.ToString());
                    stopping.WaitHandle.WaitOne(10);
                    continue;
                }

                foreach (var socket in readable)
                {
                    if (ReferenceEquals(socket, listener))
                    {
                        AcceptPending(listener);
                    }
                    else
                    {
                        Serve(Find(socket));
                    }
                }

                foreach (var socket in writable)
                {
                    Serve(Find(socket));
                }

                now = Environment.TickCount64;
                foreach (var connection in _open)
                {
                    if (now >= connection.Deadline)
                    {
                        Close(connection);
                    }
                }

                _open.RemoveAll(static c => c.Closed);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            foreach (var connection in _open)
            {
                Close(connection);
            }

            _open.Clear();
            listener.Dispose();
        }
    }

    /// <summary>A linear search: agent connections live for milliseconds, so few are open at once.</summary>
    private Connection? Find(Socket socket)
    {
        foreach (var connection in _open)
        {
            if (ReferenceEquals(connection.Socket, socket))
            {
                return connection;
            }
        }

        return null;
    }

    private void AcceptPending(Socket listener)
    {
        // Bounded per turn, so the connections already open are served between bursts.
        for (var i = 0; i < 64; i++)
        {
            Socket socket;
            try
            {
                socket = listener.Accept();
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }
            catch (SocketException exception)
            {
                // The listener stays readable: accepting pauses briefly instead of spinning.
                Log.AcceptFailed(logger, exception.SocketErrorCode.ToString());
                _acceptPausedUntil = Environment.TickCount64 + 50;
                return;
            }

            if (_open.Count >= MaxConnections)
            {
                foreach (var oldest in _open)
                {
                    if (!oldest.Closed)
                    {
                        Close(oldest);
                        break;
                    }
                }
            }

            var connection = new Connection(socket, Environment.TickCount64 + (long)AnswerDeadline.TotalMilliseconds);
            _open.Add(connection);
            Serve(connection);
        }
    }

    /// <summary>Runs the connection's next step; whatever fails closes that connection and nothing else.</summary>
    private void Serve(Connection? connection)
    {
        if (connection is null || connection.Closed)
        {
            return;
        }

        try
        {
            if (connection.Lingering)
            {
                Discard(connection);
                return;
            }

            if (connection.Line is null)
            {
                connection.Socket.Blocking = false;
                connection.Line = CurrentLine();
                balancers?.Record(ProberDoor.Agent, (connection.Socket.RemoteEndPoint as IPEndPoint)?.Address, default, "agent-check", ProbeShape.None, ReferenceEquals(connection.Line, Up) ? 200 : 503, ProberRole.Readiness);
            }

            while (connection.Sent < connection.Line.Length)
            {
                var sent = connection.Socket.Send(connection.Line, connection.Sent, connection.Line.Length - connection.Sent, SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success)
                {
                    Close(connection);
                    return;
                }

                connection.Sent += sent;
            }

            // A lingering close, as the probe listener's: closing with unread bytes (an agent-send string) would
            // reset the connection, and HAProxy could lose the line it has not read yet.
            connection.Socket.Shutdown(SocketShutdown.Send);
            connection.Lingering = true;
            connection.Deadline = Environment.TickCount64 + (long)LingerDeadline.TotalMilliseconds;
            Discard(connection);
        }
        catch (SocketException)
        {
            // HAProxy closed first; the next agent check asks again.
            Close(connection);
        }
        catch (ObjectDisposedException)
        {
            Close(connection);
        }
#pragma warning disable CA1031 // Whatever fails, this door answers the next agent check; a thrown exception would end the loop.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.AnswerFailed(logger, exception);
            Close(connection);
        }
    }

    private void Discard(Connection connection)
    {
        while (true)
        {
            var read = connection.Socket.Receive(_discard, 0, _discard.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            connection.Drained += read;
            if (error != SocketError.Success || read == 0 || connection.Drained >= MaxDrainBytes)
            {
                Close(connection);
                return;
            }
        }
    }

    private static void Close(Connection connection)
    {
        if (!connection.Closed)
        {
            connection.Closed = true;
            connection.Socket.Dispose();
        }
    }

    /// <summary>One agent connection between turns of the loop.</summary>
    private sealed class Connection(Socket socket, long deadline)
    {
        public Socket Socket { get; } = socket;

        /// <summary>When the current phase ends (<see cref="Environment.TickCount64"/>); the connection is closed then.</summary>
        public long Deadline { get; set; } = deadline;

        /// <summary>The line, read from the verdict once, when the connection is accepted.</summary>
        public byte[]? Line { get; set; }

        public int Sent { get; set; }

        public bool Lingering { get; set; }

        public int Drained { get; set; }

        public bool Closed { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, EventName = "AgentListening", Level = LogLevel.Information,
            Message = "HAProxy agent-check listener on {Address}:{Port}.")]
        public static partial void Listening(ILogger logger, string address, int port);

        [LoggerMessage(EventId = 510, EventName = "AgentAcceptFailed", Level = LogLevel.Debug,
            Message = "The agent listener could not accept a connection: {Error}.")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 511, EventName = "AgentAnswerFailed", Level = LogLevel.Warning,
            Message = "The agent listener could not answer a connection; the next agent check is answered as usual.")]
        public static partial void AnswerFailed(ILogger logger, Exception exception);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using HealthKit.Lifecycle;

namespace HealthKit.Sockets;

/// <summary>
/// A listener on one thread of its own for a door that must answer while the thread pool is starved (the probe
/// listener, HAProxy's agent): it multiplexes non-blocking sockets with <see cref="Socket.Select(System.Collections.IList, System.Collections.IList, System.Collections.IList, TimeSpan)"/>
/// (<c>poll</c> on Linux), so nothing here needs a pool thread to make progress and no client holds the thread. Each
/// turn it serves the connections that are ready, accepts a bounded batch, and closes what is past its deadline
/// (<see cref="ConnectionTable{TConnection}"/>). A connection is read until the door's <see cref="ISocketProtocol"/>
/// answers, the answer is sent (what the socket would not take waits for it to be writable), the connection is
/// half-closed and drained until the client closes: one request per connection, never more than
/// <see cref="SocketLimits"/> allow.
/// </summary>
internal sealed class SocketLoop : IDisposable
{
    private readonly string _name;
    private readonly SocketLimits _limits;
    private readonly ISocketProtocol _protocol;
    private readonly ConnectionTable<SocketConnection> _table;

    // Touched only by the loop's thread.
    private readonly Dictionary<Socket, SocketConnection> _bySocket = [];
    private readonly byte[] _drain = new byte[4096];

    private DedicatedLoop? _loop;
    private Socket? _listener;

    public SocketLoop(string name, SocketLimits limits, ISocketProtocol protocol, TimeProvider time)
    {
        _name = name;
        _limits = limits;
        _protocol = protocol;
        _table = new ConnectionTable<SocketConnection>(limits, time, connection =>
        {
            _bySocket.Remove(connection.Socket);
            connection.Socket.Dispose();
        });
    }

    private enum Step
    {
        Accepted,
        Read,
        Write,
    }

    /// <summary>The address and port bound, once <see cref="Start"/> has bound them.</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>
    /// Binds and starts the loop's thread. A port in use or not allowed throws the <see cref="SocketException"/> here,
    /// while the host starts, so the door can name its setting.
    /// </summary>
    public void Start(IPAddress address, int port)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(address, port));

            // A flood of connects waits in the kernel's queue (as deep as it allows) for the next turn of the loop.
            listener.Listen(_limits.MaxConnections);
            listener.Blocking = false;
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _loop = new DedicatedLoop(_name, SocketLimits.IdleWait + TimeSpan.FromSeconds(1));
        _loop.Start(Run);
    }

    /// <summary>Stops the loop, which closes the listener and every connection as it ends, within one wait.</summary>
    public void Dispose() => _loop?.Dispose();

    /// <summary>
    /// Waits until the listener or a connection is ready or a deadline is due, serves what is ready (the connections
    /// first, then new ones), closes what is past its deadline. Every socket call returns at once.
    /// </summary>
    private void Run(CancellationToken stopping)
    {
        var listener = _listener!;
        var readable = new List<Socket>();
        var writable = new List<Socket>();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                readable.Clear();
                writable.Clear();
                if (_table.IsAccepting)
                {
                    readable.Add(listener);
                }

                foreach (var connection in _table.Connections)
                {
                    (connection.Phase == ConnectionPhase.Answer ? writable : readable).Add(connection.Socket);
                }

                var timeout = _table.NextWait();
                if (readable.Count == 0 && writable.Count == 0)
                {
                    stopping.WaitHandle.WaitOne(timeout);
                    continue;
                }

                // Select leaves in each list only the sockets that are ready.
                try
                {
                    Socket.Select(readable.Count > 0 ? readable : null, writable.Count > 0 ? writable : null, null, timeout);
                }
                catch (SocketException exception)
                {
                    // Nothing a connection did; a wait that failed is tried again on the next turn, a moment later.
                    _protocol.AcceptFailed(exception.SocketErrorCode);
                    stopping.WaitHandle.WaitOne(10);
                    continue;
                }

                var accept = false;
                foreach (var socket in readable)
                {
                    if (ReferenceEquals(socket, listener))
                    {
                        accept = true;
                    }
                    else if (_bySocket.TryGetValue(socket, out var connection))
                    {
                        Serve(connection, Step.Read);
                    }
                }

                foreach (var socket in writable)
                {
                    if (_bySocket.TryGetValue(socket, out var connection))
                    {
                        Serve(connection, Step.Write);
                    }
                }

                if (accept)
                {
                    AcceptPending(listener);
                }

                _table.Sweep();
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            _table.CloseAll();
            listener.Dispose();
        }
    }

    /// <summary>Accepts what the kernel has queued, and serves each new connection at once.</summary>
    private void AcceptPending(Socket listener)
    {
        for (var i = 0; i < _limits.AcceptBatch; i++)
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
                // A connection reset before it was accepted, or out of descriptors. Accepting pauses briefly instead
                // of spinning, and a descriptor is freed for the next probe.
                _protocol.AcceptFailed(exception.SocketErrorCode);
                _table.PauseAccepting();
                if (exception.SocketErrorCode == SocketError.TooManyOpenSockets && _table.Oldest() is { } oldest)
                {
                    _table.Close(oldest);
                }

                return;
            }

            var connection = new SocketConnection(socket);
            _table.Admit(connection);
            _bySocket.Add(socket, connection);
            Serve(connection, Step.Accepted);
        }
    }

    /// <summary>Runs one step for one connection; whatever fails closes that connection and nothing else.</summary>
    private void Serve(SocketConnection connection, Step step)
    {
        if (connection.Closed)
        {
            return;
        }

        try
        {
            switch (step)
            {
                case Step.Accepted:
                    connection.Socket.Blocking = false;
                    connection.Socket.NoDelay = true;

                    // A door that speaks first answers now; a prober sends its request with the connect, so it is
                    // often here already.
                    if (!TryAnswer(connection, [], isFull: false))
                    {
                        OnReadable(connection);
                    }

                    break;
                case Step.Read:
                    OnReadable(connection);
                    break;
                default:
                    OnWritable(connection);
                    break;
            }
        }
        catch (SocketException)
        {
            // The client went away: nothing to answer.
            _table.Close(connection);
        }
        catch (ObjectDisposedException)
        {
            _table.Close(connection);
        }
#pragma warning disable CA1031 // Whatever fails, the door answers the next connection; a thrown exception would end the loop.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            _protocol.AnswerFailed(exception);
            _table.Close(connection);
        }
    }

    private void OnReadable(SocketConnection connection)
    {
        if (connection.Phase == ConnectionPhase.Linger)
        {
            Drain(connection);
            return;
        }

        var head = connection.HeadForRead(_limits, out var limit);
        var read = connection.Socket.Receive(head, connection.Filled, limit - connection.Filled, SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            return;
        }

        if (error != SocketError.Success || read == 0)
        {
            // Gone before its request was complete. A FIN after a complete request never ends up here: the request is
            // answered as soon as it is read, and a half-closed client still gets its answer.
            _table.Close(connection);
            return;
        }

        connection.Filled += read;
        var isFull = connection.Filled == _limits.MaxHeadBytes;
        if (!TryAnswer(connection, head.AsSpan(0, connection.Filled), isFull) && isFull)
        {
            // Nothing more will be read, and the door has nothing to say to it.
            _table.Close(connection);
        }
    }

    private bool TryAnswer(SocketConnection connection, ReadOnlySpan<byte> received, bool isFull)
    {
        var peer = (connection.Socket.RemoteEndPoint as IPEndPoint)?.Address;
        var reply = _protocol.Answer(new SocketRequest(received, isFull, peer));
        if (!reply.IsAnswer)
        {
            return false;
        }

        Deliver(connection, reply.First, reply.Second);
        return true;
    }

    /// <summary>
    /// Sends what the socket takes now: the whole answer, as a rule (a probe's answer is far smaller than a socket's
    /// send buffer); what is left waits for the socket to be writable, within <see cref="SocketLimits.AnswerDeadline"/>.
    /// </summary>
    private void Deliver(SocketConnection connection, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var sent = TrySend(connection.Socket, first);
        if (sent == first.Length)
        {
            first = [];
            sent = TrySend(connection.Socket, second);
            second = second[sent..];
        }
        else
        {
            first = first[sent..];
        }

        if (first.IsEmpty && second.IsEmpty)
        {
            Linger(connection);
            return;
        }

        connection.Keep(first, second);
        _table.Enter(connection, ConnectionPhase.Answer);
    }

    private void OnWritable(SocketConnection connection)
    {
        var pending = connection.Pending!;
        connection.PendingSent += TrySend(connection.Socket, pending.AsSpan(connection.PendingSent));
        if (connection.PendingSent == pending.Length)
        {
            Linger(connection);
        }
    }

    private static int TrySend(Socket socket, ReadOnlySpan<byte> data)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            var count = socket.Send(data[sent..], SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            sent += count;
        }

        return sent;
    }

    /// <summary>
    /// A lingering close, as Kestrel does: closing with unread bytes (the rest of a request over the limit, a body, an
    /// agent-send string) makes the kernel send a reset, and the client may lose the answer it has not read yet. A
    /// prober closes as soon as it has the answer, so this usually ends at once; anything else ends at
    /// <see cref="SocketLimits.LingerDeadline"/> after the answer, or after <see cref="SocketLimits.MaxDrainBytes"/>,
    /// whichever comes first.
    /// </summary>
    private void Linger(SocketConnection connection)
    {
        connection.Answered();
        connection.Socket.Shutdown(SocketShutdown.Send);
        _table.Enter(connection, ConnectionPhase.Linger);
        Drain(connection);
    }

    private void Drain(SocketConnection connection)
    {
        while (true)
        {
            var read = connection.Socket.Receive(_drain, 0, _drain.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            connection.Drained += read;
            if (error != SocketError.Success || read == 0 || connection.Drained >= _limits.MaxDrainBytes)
            {
                _table.Close(connection);
                return;
            }
        }
    }
}

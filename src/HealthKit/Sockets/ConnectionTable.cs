// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Sockets;

/// <summary>
/// The loop's rules on plain state, apart from any socket: the open connections in accept order, at most
/// <see cref="SocketLimits.MaxConnections"/> of them (a newcomer closes the oldest), each phase's deadline and the
/// sweep that closes what is past it, the pause of accepting after a failure, and how long the loop may wait.
/// Touched only by the loop's thread.
/// </summary>
internal sealed class ConnectionTable<TConnection>(SocketLimits limits, TimeProvider time, Action<TConnection> closed)
    where TConnection : Connection
{
    private readonly List<TConnection> _connections = [];
    private long _acceptPausedUntil = long.MinValue;

    /// <summary>In accept order; those closed during a turn leave at its <see cref="Sweep"/>.</summary>
    public IReadOnlyList<TConnection> Connections => _connections;

    /// <summary>Connections not closed yet.</summary>
    public int OpenCount { get; private set; }

    public bool IsAccepting => time.GetTimestamp() >= _acceptPausedUntil;

    /// <summary>Rests accepting for <see cref="SocketLimits.AcceptPause"/>: an accept that failed leaves the listener readable.</summary>
    public void PauseAccepting() => _acceptPausedUntil = time.GetTimestamp() + Ticks(SocketLimits.AcceptPause);

    /// <summary>
    /// Takes a newly accepted connection, in its request phase. At the cap the oldest open connection is closed to make
    /// room: a prober's connection is answered within milliseconds of its connect, so the oldest is the one least
    /// likely to be a prober's.
    /// </summary>
    public void Admit(TConnection connection)
    {
        if (OpenCount >= limits.MaxConnections && Oldest() is { } oldest)
        {
            Close(oldest);
        }

        _connections.Add(connection);
        OpenCount++;
        Enter(connection, ConnectionPhase.Request);
    }

    /// <summary>Moves a connection to <paramref name="phase"/>, whose deadline counts from now.</summary>
    public void Enter(TConnection connection, ConnectionPhase phase)
    {
        connection.Phase = phase;
        connection.Deadline = time.GetTimestamp() + Ticks(limits.Deadline(phase));
    }

    /// <summary>The open connection accepted first.</summary>
    public TConnection? Oldest()
    {
        foreach (var connection in _connections)
        {
            if (!connection.Closed)
            {
                return connection;
            }
        }

        return null;
    }

    public void Close(TConnection connection)
    {
        if (connection.Close())
        {
            OpenCount--;
            closed(connection);
        }
    }

    /// <summary>Closes what is past its deadline, then lets every closed connection go.</summary>
    public void Sweep()
    {
        var now = time.GetTimestamp();
        foreach (var connection in _connections)
        {
            if (!connection.Closed && now >= connection.Deadline)
            {
                Close(connection);
            }
        }

        _connections.RemoveAll(static c => c.Closed);
    }

    public void CloseAll()
    {
        foreach (var connection in _connections)
        {
            Close(connection);
        }

        _connections.Clear();
    }

    /// <summary>Until the next deadline or the end of the accept pause, at most <see cref="SocketLimits.IdleWait"/>, at least 1 ms.</summary>
    public TimeSpan NextWait()
    {
        var now = time.GetTimestamp();
        var wait = Ticks(SocketLimits.IdleWait);
        if (now < _acceptPausedUntil)
        {
            wait = Math.Min(wait, _acceptPausedUntil - now);
        }

        foreach (var connection in _connections)
        {
            wait = Math.Min(wait, connection.Deadline - now);
        }

        var timeout = time.GetElapsedTime(0, wait);
        return timeout < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : timeout;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}

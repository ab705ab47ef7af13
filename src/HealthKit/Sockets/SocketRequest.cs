// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;

namespace HealthKit.Sockets;

/// <summary>What a connection has sent so far, as a door's <see cref="ISocketProtocol"/> sees it.</summary>
internal readonly ref struct SocketRequest
{
    public SocketRequest(ReadOnlySpan<byte> received, bool isFull, IPAddress? peer)
    {
        Received = received;
        IsFull = isFull;
        Peer = peer;
    }

    /// <summary>Every byte received on the connection so far; empty when it has just been accepted.</summary>
    public ReadOnlySpan<byte> Received { get; }

    /// <summary>
    /// <see cref="Received"/> has reached <see cref="SocketLimits.MaxHeadBytes"/>: nothing more will be read, so the
    /// door answers now (a 431) or the connection is closed without an answer.
    /// </summary>
    public bool IsFull { get; }

    /// <summary>The client's address, for the prober ledger.</summary>
    public IPAddress? Peer { get; }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Sockets;

/// <summary>The phase a connection is in; each has a deadline of its own (<see cref="SocketLimits.Deadline"/>).</summary>
internal enum ConnectionPhase
{
    /// <summary>Accepted, reading the request until the door can answer it.</summary>
    Request,

    /// <summary>Sending what is left of the answer when the socket would not take it all at once.</summary>
    Answer,

    /// <summary>Answered and half-closed, reading and discarding until the client closes.</summary>
    Linger,
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net.Sockets;

namespace HealthKit.Sockets;

/// <summary>
/// What a door supplies to a <see cref="SocketLoop"/>: when a request is complete and what to answer. Everything else
/// (the thread, accepting, deadlines, sending, the lingering close) is the loop's. Called only on the loop's thread,
/// and must never block: the loop serves every connection of the door on that one thread.
/// </summary>
internal interface ISocketProtocol
{
    /// <summary>
    /// Answers what a connection has sent so far, or returns <see cref="SocketReply.None"/> to read more. Asked once as
    /// the connection is accepted, with nothing received (a protocol that speaks first, as HAProxy's agent, answers
    /// then), and again after every read. One answer per connection: the loop then sends it and closes.
    /// </summary>
    SocketReply Answer(SocketRequest request);

    /// <summary>Accepting (or waiting for the sockets) failed; the loop rests a moment and goes on. The door logs it.</summary>
    void AcceptFailed(SocketError error);

    /// <summary>Answering one connection threw; that connection is closed, the others are served. The door logs it.</summary>
    void AnswerFailed(Exception exception);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Sockets;

/// <summary>
/// The bounds a <see cref="SocketLoop"/> keeps for its door: how many connections at once, how many accepts a turn, a
/// total deadline on each phase of a connection (counted once, not per read), what a head and a lingering close may
/// cost. No client can hold the loop past them.
/// </summary>
internal sealed record SocketLimits
{
    /// <summary>The loop wakes at least this often, to see a stop; deadlines wake it sooner.</summary>
    public static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);

    /// <summary>How long accepting rests after an accept failed: the listener stays readable, so it would spin.</summary>
    public static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(50);

    /// <summary>Open connections at once; beyond it the oldest is closed to make room. Also the accept queue asked for.</summary>
    public required int MaxConnections { get; init; }

    /// <summary>Accepts per turn, so the connections already open are served between bursts of a flood.</summary>
    public required int AcceptBatch { get; init; }

    /// <summary>From accept to a complete request; then the connection is closed without an answer.</summary>
    public required TimeSpan ReadDeadline { get; init; }

    /// <summary>From the answer to its last byte sent: a client that does not read it is dropped.</summary>
    public required TimeSpan AnswerDeadline { get; init; }

    /// <summary>The whole lingering close after the answer, however the client trickles bytes.</summary>
    public required TimeSpan LingerDeadline { get; init; }

    /// <summary>What the lingering close reads (and discards) at most before it closes anyway.</summary>
    public required int MaxDrainBytes { get; init; }

    /// <summary>A request's first buffer: small, so thousands of slow clients cost a kilobyte each.</summary>
    public int SmallHeadBytes { get; init; } = 1024;

    /// <summary>The longest request read; a head that fills it is answered (or closed) as it is.</summary>
    public int MaxHeadBytes { get; init; } = 8 * 1024;

    /// <summary>The deadline of <paramref name="phase"/>, counted from when the connection enters it.</summary>
    public TimeSpan Deadline(ConnectionPhase phase) => phase switch
    {
        ConnectionPhase.Request => ReadDeadline,
        ConnectionPhase.Answer => AnswerDeadline,
        _ => LingerDeadline,
    };
}

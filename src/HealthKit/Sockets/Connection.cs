// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;

namespace HealthKit.Sockets;

/// <summary>
/// One connection's state between turns of the loop, apart from its socket: its phase and when the phase ends, the
/// request read so far, what is left of the answer, what the lingering close has discarded.
/// </summary>
internal class Connection
{
    public ConnectionPhase Phase { get; set; }

    /// <summary>When the current phase ends, a <see cref="TimeProvider.GetTimestamp"/>; the connection is closed then.</summary>
    public long Deadline { get; set; }

    public bool Closed { get; private set; }

    /// <summary>The request read so far, rented once the loop first reads; returned as the answer leaves.</summary>
    public byte[]? Head { get; private set; }

    public int Filled { get; set; }

    /// <summary>What is left of the answer when the socket would not take it all at once.</summary>
    public byte[]? Pending { get; private set; }

    public int PendingSent { get; set; }

    public int Drained { get; set; }

    /// <summary>
    /// The buffer the next read goes into, and how far it may fill. Small first (<see cref="SocketLimits.SmallHeadBytes"/>);
    /// a request that fills it moves to one of <see cref="SocketLimits.MaxHeadBytes"/>, and no further.
    /// </summary>
    public byte[] HeadForRead(SocketLimits limits, out int limit)
    {
        var head = Head ??= ArrayPool<byte>.Shared.Rent(limits.SmallHeadBytes);
        if (Filled == head.Length && head.Length < limits.MaxHeadBytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent(limits.MaxHeadBytes);
            head.AsSpan(0, Filled).CopyTo(larger);
            ReturnHead();
            Head = head = larger;
        }

        limit = Math.Min(head.Length, limits.MaxHeadBytes);
        return head;
    }

    /// <summary>Keeps what the socket did not take of an answer, in one buffer, and lets the request go.</summary>
    public void Keep(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var pending = new byte[first.Length + second.Length];
        first.CopyTo(pending);
        second.CopyTo(pending.AsSpan(first.Length));
        Pending = pending;
        PendingSent = 0;
        ReturnHead();
    }

    /// <summary>The answer is out: neither buffer is needed again.</summary>
    public void Answered()
    {
        ReturnHead();
        Pending = null;
    }

    /// <summary>Marks the connection closed and returns its buffer; <see langword="false"/> when it already was.</summary>
    public bool Close()
    {
        if (Closed)
        {
            return false;
        }

        Closed = true;
        Answered();
        return true;
    }

    private void ReturnHead()
    {
        if (Head is { } head)
        {
            Head = null;
            ArrayPool<byte>.Shared.Return(head);
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Sockets;

/// <summary>
/// A door's answer to a request, in one or two segments (a head in a buffer of the door's, a body from elsewhere), or
/// <see cref="None"/> while the request is incomplete. The loop sends it (or copies what the socket would not take)
/// before it asks the door anything else, so the segments may point into a buffer the door reuses.
/// </summary>
internal readonly ref struct SocketReply
{
    public SocketReply(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default)
    {
        First = first;
        Second = second;
        IsAnswer = true;
    }

    /// <summary>No answer yet: the loop reads more.</summary>
    public static SocketReply None => default;

    public ReadOnlySpan<byte> First { get; }

    public ReadOnlySpan<byte> Second { get; }

    public bool IsAnswer { get; }
}

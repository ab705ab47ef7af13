// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Sockets;

namespace HealthKit.Tests.Sockets;

/// <summary>One connection's buffers: the request's growth up to its bound, and what is kept of an answer.</summary>
[Trait("Tier", "Fast")]
public sealed class ConnectionTests
{
    private static readonly SocketLimits Limits = new()
    {
        MaxConnections = 8,
        AcceptBatch = 8,
        ReadDeadline = TimeSpan.FromSeconds(2),
        AnswerDeadline = TimeSpan.FromSeconds(2),
        LingerDeadline = TimeSpan.FromSeconds(1),
        MaxDrainBytes = 1024,
        SmallHeadBytes = 1024,
        MaxHeadBytes = 8 * 1024,
    };

    [Fact]
    public void HeadForRead_SmallFirst_ThenTheMaximum_KeepingWhatWasRead_NeverBeyond()
    {
        var connection = new Connection();

        var small = connection.HeadForRead(Limits, out var limit);
        Assert.Equal(1024, limit);
        small.AsSpan(0, 1024).Fill((byte)'a');
        connection.Filled = 1024;

        var large = connection.HeadForRead(Limits, out limit);
        Assert.Equal(8 * 1024, limit);
        Assert.True(large.AsSpan(0, 1024).IndexOfAnyExcept((byte)'a') < 0);
        connection.Filled = 8 * 1024;

        // Full: the same buffer, nothing more to read into it (the loop answers or closes before asking again).
        Assert.Same(large, connection.HeadForRead(Limits, out limit));
        Assert.Equal(connection.Filled, limit);
    }

    [Fact]
    public void Keep_WhatTheSocketDidNotTake_OneBufferInOrder_AndTheRequestLetGo()
    {
        var connection = new Connection();
        connection.HeadForRead(Limits, out _);
        connection.PendingSent = 3;

        connection.Keep("ead"u8, "body"u8);

        Assert.Equal("eadbody"u8.ToArray(), connection.Pending);
        Assert.Equal(0, connection.PendingSent);
        Assert.Null(connection.Head);
    }

    [Fact]
    public void Close_ReturnsTheBuffers_OnlyOnce()
    {
        var connection = new Connection();
        connection.HeadForRead(Limits, out _);
        connection.Keep("x"u8, default);

        Assert.True(connection.Close());
        Assert.False(connection.Close());
        Assert.True(connection.Closed);
        Assert.Null(connection.Head);
        Assert.Null(connection.Pending);
    }
}

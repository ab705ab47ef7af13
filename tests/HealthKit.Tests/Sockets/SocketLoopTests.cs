// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Sockets;

namespace HealthKit.Tests.Sockets;

/// <summary>
/// The socket loop on real loopback sockets, with a line protocol of the test's: the paths the doors' own tests rarely
/// take (an answer larger than the socket takes at once, a door that throws, a request that fills its bound, the cap).
/// </summary>
public sealed class SocketLoopTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly SocketLimits Limits = new()
    {
        MaxConnections = 2,
        AcceptBatch = 16,
        ReadDeadline = TimeSpan.FromSeconds(30),
        AnswerDeadline = TimeSpan.FromSeconds(30),
        LingerDeadline = TimeSpan.FromSeconds(5),
        MaxDrainBytes = 1024,
        SmallHeadBytes = 1024,
        MaxHeadBytes = 2048,
    };

    [Fact]
    public async Task LargeAnswer_MoreThanTheSocketTakesAtOnce_ArrivesWhole_ThenTheLoopCloses()
    {
        var protocol = new LineProtocol();
        using var loop = Start(protocol);

        var answer = await ExchangeAsync(loop, "big\n");

        Assert.Equal(LineProtocol.Big.Length + 4, answer.Length);
        Assert.Equal("big:"u8.ToArray(), answer[..4]);
        Assert.Equal(LineProtocol.Big, answer[4..]);
    }

    [Fact]
    public async Task DoorThrows_ThatConnectionClosed_TheNextAnswered()
    {
        var protocol = new LineProtocol();
        using var loop = Start(protocol);

        var failed = await ExchangeAsync(loop, "boom\n");
        var next = await ExchangeAsync(loop, "hello\n");

        Assert.Empty(failed);
        Assert.IsType<InvalidOperationException>(Assert.Single(protocol.Failures));
        Assert.Equal("ok:hello\n", Encoding.ASCII.GetString(next));
    }

    [Fact]
    public async Task RequestFillsItsBound_DoorHasNoAnswer_ClosedWithoutOne()
    {
        var protocol = new LineProtocol();
        using var loop = Start(protocol);

        var answer = await ExchangeAsync(loop, new string('x', Limits.MaxHeadBytes + 100));

        Assert.Empty(answer);
        Assert.Equal(Limits.MaxHeadBytes, protocol.Longest);
    }

    [Fact]
    public async Task AtTheCap_TheOldestConnectionClosed_TheNewestAnswered()
    {
        var protocol = new LineProtocol();
        using var loop = Start(protocol);
        using var oldest = new TcpClient();
        using var second = new TcpClient();
        await oldest.ConnectAsync(loop.LocalEndPoint!);
        await second.ConnectAsync(loop.LocalEndPoint!);

        var answer = await ExchangeAsync(loop, "third\n");

        Assert.Equal("ok:third\n", Encoding.ASCII.GetString(answer));
        Assert.Empty(await ReadToEndAsync(oldest.GetStream()));
    }

    private static SocketLoop Start(LineProtocol protocol)
    {
        var loop = new SocketLoop("HealthKit test loop", Limits, protocol, TimeProvider.System);
        loop.Start(IPAddress.Loopback, 0);
        return loop;
    }

    /// <summary>Sends <paramref name="request"/> and reads until the loop closes (a reset counts as the end).</summary>
    private static async Task<byte[]> ExchangeAsync(SocketLoop loop, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(loop.LocalEndPoint!);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        }
        catch (IOException)
        {
            // Closed while the request was still arriving: whatever came back is read below.
        }

        return await ReadToEndAsync(stream);
    }

    private static async Task<byte[]> ReadToEndAsync(NetworkStream stream)
    {
        using var cts = new CancellationTokenSource(Bound);
        using var received = new MemoryStream();
        var chunk = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, cts.Token)) > 0)
            {
                received.Write(chunk, 0, read);
            }
        }
        catch (IOException)
        {
        }

        return received.ToArray();
    }

    /// <summary>Answers a line: <c>big</c> with 16 MiB, <c>boom</c> by throwing, anything else with <c>ok:</c> and the line.</summary>
    private sealed class LineProtocol : ISocketProtocol
    {
        public static readonly byte[] Big = Enumerable.Range(0, 16 * 1024 * 1024).Select(i => (byte)i).ToArray();

        private readonly byte[] _output = new byte[Limits.MaxHeadBytes + 8];

        public ConcurrentQueue<Exception> Failures { get; } = new();

        public int Longest { get; private set; }

        public SocketReply Answer(SocketRequest request)
        {
            var received = request.Received;
            Longest = Math.Max(Longest, received.Length);
            var end = received.IndexOf((byte)'\n');
            if (end < 0)
            {
                return SocketReply.None;
            }

            var line = received[..end];
            if (line.SequenceEqual("boom"u8))
            {
                throw new InvalidOperationException("The door failed.");
            }

            if (line.SequenceEqual("big"u8))
            {
                return new SocketReply("big:"u8, Big);
            }

            "ok:"u8.CopyTo(_output);
            received[..(end + 1)].CopyTo(_output.AsSpan(3));
            return new SocketReply(_output.AsSpan(0, end + 4));
        }

        public void AcceptFailed(SocketError error)
        {
        }

        public void AnswerFailed(Exception exception) => Failures.Enqueue(exception);
    }
}

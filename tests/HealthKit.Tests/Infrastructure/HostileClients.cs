// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// Connection patterns an anonymous client can use against a listener on loopback, bounded in count and time, and a
/// prober that asks as a kubelet does meanwhile: one request every 0.5 s, each on a new connection with a 1 s timeout.
/// </summary>
public static class HostileClients
{
    /// <summary>
    /// Keeps <paramref name="count"/> connections to <paramref name="server"/> open until <paramref name="duration"/>
    /// has passed: each sends <paramref name="first"/>, then one byte every <paramref name="trickle"/> (never, when
    /// null) and never closes; when the server closes one, another takes its place. Returns the connections opened.
    /// </summary>
    public static async Task<int> AttackAsync(Uri server, int count, string first, TimeSpan? trickle, TimeSpan duration)
    {
        using var end = new CancellationTokenSource(duration);
        var endpoint = new IPEndPoint(IPAddress.Parse(server.Host), server.Port);
        var opened = 0;
        var attackers = new Task[count];
        for (var i = 0; i < count; i++)
        {
            attackers[i] = Task.Run(() => AttackerAsync(endpoint, Encoding.ASCII.GetBytes(first), trickle, () => Interlocked.Increment(ref opened), end.Token));
        }

        await Task.WhenAll(attackers);
        return opened;
    }

    /// <summary>
    /// Runs <paramref name="attack"/> while probing <paramref name="request"/> on <paramref name="server"/> every 0.5 s
    /// from a thread of its own (so the test's own thread pool, busy with the attack, cannot delay the prober).
    /// </summary>
    public static async Task<IReadOnlyList<ProbeTry>> ProbeDuringAsync(Uri server, string request, Func<Task> attack)
    {
        var results = new List<ProbeTry>();
        using var stop = new ManualResetEventSlim();
        var prober = new Thread(() =>
        {
            var endpoint = new IPEndPoint(IPAddress.Parse(server.Host), server.Port);
            var bytes = Encoding.ASCII.GetBytes(request);
            while (!stop.Wait(500))
            {
                var result = ProbeOnce(endpoint, bytes, TimeSpan.FromSeconds(1));
                lock (results)
                {
                    results.Add(result);
                }
            }
        })
        { IsBackground = true, Name = "test prober" };

        // A moment for the attack to take hold before the first probe.
        var running = attack();
        await Task.Delay(500);
        prober.Start();
        try
        {
            await running;
        }
        finally
        {
            stop.Set();
            prober.Join(TimeSpan.FromSeconds(5));
        }

        lock (results)
        {
            return [.. results];
        }
    }

    private static async Task AttackerAsync(IPEndPoint endpoint, byte[] first, TimeSpan? trickle, Action opened, CancellationToken end)
    {
        while (!end.IsCancellationRequested)
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endpoint, end);
                opened();
                if (first.Length > 0)
                {
                    await socket.SendAsync(first, SocketFlags.None, end);
                }

                // A client that sent a whole request reads the answer and the server's FIN, and keeps trickling until
                // the server closes for good (a write is reset); any other is done when the server closes its side.
                var answered = first.AsSpan().EndsWith("\r\n\r\n"u8);
                var closed = UntilClosedAsync(socket, end);
                while (answered || !closed.IsCompleted)
                {
                    if (trickle is not { } interval)
                    {
                        await closed;
                        break;
                    }

                    await Task.WhenAny(answered ? Task.Delay(interval, end) : Task.WhenAny(closed, Task.Delay(interval, end)));
                    end.ThrowIfCancellationRequested();
                    if (answered || !closed.IsCompleted)
                    {
                        await socket.SendAsync("x"u8.ToArray(), SocketFlags.None, end);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // Closed under a write, or the backlog was full: the next connection takes its place, a moment later.
                await Task.WhenAny(Task.Delay(50, end));
            }
        }
    }

    private static async Task UntilClosedAsync(Socket socket, CancellationToken end)
    {
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, end) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset by the server: closed as well.
        }
    }

    private static ProbeTry ProbeOnce(IPEndPoint endpoint, byte[] request, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        int Left() => (int)Math.Max(1, (timeout - Stopwatch.GetElapsedTime(started)).TotalMilliseconds);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A blocking connect has no timeout of its own: connect without blocking, then wait for it, bounded.
            socket.Blocking = false;
            try
            {
                socket.Connect(endpoint);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
            }

            if (!socket.Poll(Left() * 1000, SelectMode.SelectWrite) || !socket.Connected)
            {
                return new ProbeTry(0, Stopwatch.GetElapsedTime(started), "no connection within the timeout");
            }

            socket.Blocking = true;
            socket.Send(request);
            var received = new MemoryStream();
            var buffer = new byte[4096];
            while (true)
            {
                socket.ReceiveTimeout = Left();
                var read = socket.Receive(buffer);
                if (read == 0)
                {
                    break;
                }

                received.Write(buffer, 0, read);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var text = Encoding.ASCII.GetString(received.ToArray());
            var status = text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out var code) ? code : 0;
            return elapsed <= timeout ? new ProbeTry(status, elapsed, text) : new ProbeTry(0, elapsed, "late: " + text);
        }
        catch (SocketException exception)
        {
            return new ProbeTry(0, Stopwatch.GetElapsedTime(started), exception.SocketErrorCode.ToString());
        }
    }
}

/// <summary>One probe's outcome: the status within the timeout (0 for none), how long it took, what came back.</summary>
public sealed record ProbeTry(int Status, TimeSpan Elapsed, string Detail)
{
    public override string ToString() => $"{Status} in {Elapsed.TotalMilliseconds:F0} ms ({Detail.Split('\r')[0]})";
}

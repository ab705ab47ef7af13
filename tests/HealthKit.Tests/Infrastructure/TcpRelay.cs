// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 that the test owns, in front of a real server: one application reaches PostgreSQL or
/// Redis through it, and <see cref="StopAsync"/> cuts that one path (every relayed connection is reset, new ones are
/// refused) while the server stays up for everyone else. <see cref="Start"/> opens the same port again.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly int _target;
    private readonly Lock _gate = new();
    private readonly List<Socket> _open = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _running;
    private Task? _accepting;

    private TcpRelay(int target)
    {
        _target = target;
    }

    /// <summary>The relay's own port, the same across <see cref="StopAsync"/> and <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Connections relayed at this moment.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _open.Count / 2;
            }
        }
    }

    public static TcpRelay StartTo(int targetPort)
    {
        var relay = new TcpRelay(targetPort);
        relay.Start();
        return relay;
    }

    /// <summary>Listens (again) on <see cref="Port"/>, a free port the first time.</summary>
    public void Start()
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("The relay is already running.");
        }

        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _listener = listener;
        _running = new CancellationTokenSource();
        _accepting = AcceptAsync(listener, _running.Token);
    }

    /// <summary>Stops listening and resets every relayed connection; returns once the port refuses connections.</summary>
    public async Task StopAsync()
    {
        if (_listener is null)
        {
            return;
        }

        await _running!.CancelAsync();
        _listener.Stop();
        _listener = null;
        try
        {
            await _accepting!;
        }
        catch (OperationCanceledException)
        {
        }

        Socket[] open;
        lock (_gate)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var socket in open)
        {
            // RST, not FIN: the application sees a broken connection at once, as when a network path goes away.
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (ObjectDisposedException)
            {
                // That connection ended by itself since the list was copied: its relay task disposed it.
            }

            socket.Dispose();
        }

        _running.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task AcceptAsync(TcpListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client, stopping);
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken stopping)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_gate)
        {
            _open.Add(client);
            _open.Add(server);
        }

        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, stopping);
            await Task.WhenAny(PumpAsync(client, server, stopping), PumpAsync(server, client, stopping));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(client);
                _open.Remove(server);
            }

            client.Dispose();
            server.Dispose();
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken stopping)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, stopping);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stopping);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}

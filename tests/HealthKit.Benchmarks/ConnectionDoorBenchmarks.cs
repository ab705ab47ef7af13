// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthKit.Benchmarks;

/// <summary>
/// What the Kestrel connection door costs a request that is not a probe: the same app with HealthKit on Kestrel at
/// 127.0.0.1, with the door and with the door taken out (<see cref="Scenario.RemoveConnectionDoor"/>), over raw
/// sockets so that no client library's cost is in the figure. The door runs once per connection, before its first
/// request: "new connection" pays it on every request, "keep-alive" only on the first of a connection's requests.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class ConnectionDoorBenchmarks
{
    private static readonly byte[] KeepAliveRequest = Encoding.ASCII.GetBytes(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\n\r\n");

    private static readonly byte[] CloseRequest = Encoding.ASCII.GetBytes(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\nConnection: close\r\n\r\n");

    private readonly byte[] _buffer = new byte[4096];
    private WebApplication _withDoor = null!;
    private WebApplication _withoutDoor = null!;
    private IPEndPoint _withDoorEndPoint = null!;
    private IPEndPoint _withoutDoorEndPoint = null!;
    private Socket _withDoorKeepAlive = null!;
    private Socket _withoutDoorKeepAlive = null!;
    private int _keepAliveResponseLength;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_withDoor, _withDoorEndPoint) = await StartAsync(door: true);
        (_withoutDoor, _withoutDoorEndPoint) = await StartAsync(door: false);

        // Both apps must answer the request measured with the same 200 "home", or the benchmark measures something else.
        var withDoor = await ReadToEndAsync(_withDoorEndPoint);
        var withoutDoor = await ReadToEndAsync(_withoutDoorEndPoint);
        foreach (var response in new[] { withDoor, withoutDoor })
        {
            if (!response.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal) || !response.Contains($"\r\n{Scenario.HomeBody}\r\n", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"GET / did not answer 200 '{Scenario.HomeBody}': {response}");
            }
        }

        // The keep-alive response is the close response (chunked) without its "Connection: close" line; Date is fixed-width.
        _keepAliveResponseLength = Encoding.ASCII.GetByteCount(withDoor) - "Connection: close\r\n".Length;
        _withDoorKeepAlive = await ConnectAsync(_withDoorEndPoint);
        _withoutDoorKeepAlive = await ConnectAsync(_withoutDoorEndPoint);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _withDoorKeepAlive.Dispose();
        _withoutDoorKeepAlive.Dispose();
        foreach (var app in new[] { _withDoor, _withoutDoor })
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true, Description = "new connection, GET /, HealthKit without the door")]
    public Task NewConnectionWithoutDoor() => NewConnectionAsync(_withoutDoorEndPoint);

    [Benchmark(Description = "new connection, GET /, HealthKit with the door")]
    public Task NewConnectionWithDoor() => NewConnectionAsync(_withDoorEndPoint);

    [Benchmark(Description = "keep-alive GET /, HealthKit without the door")]
    public Task KeepAliveWithoutDoor() => KeepAliveAsync(_withoutDoorKeepAlive);

    [Benchmark(Description = "keep-alive GET /, HealthKit with the door")]
    public Task KeepAliveWithDoor() => KeepAliveAsync(_withDoorKeepAlive);

    private static async Task<(WebApplication App, IPEndPoint EndPoint)> StartAsync(bool door)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(Scenario.LongCache);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        Scenario.AddServices(builder.Services, healthKit: true);
        if (!door)
        {
            Scenario.RemoveConnectionDoor(builder.Services);
        }

        var app = builder.Build();
        Scenario.MapEndpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var uri = new Uri(address);
        return (app, new IPEndPoint(IPAddress.Loopback, uri.Port));
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    private static async Task<string> ReadToEndAsync(IPEndPoint endPoint)
    {
        using var socket = await ConnectAsync(endPoint);
        await socket.SendAsync(CloseRequest);
        var buffer = new byte[4096];
        var response = new StringBuilder();
        int read;
        while ((read = await socket.ReceiveAsync(buffer)) > 0)
        {
            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return response.ToString();
    }

    private async Task NewConnectionAsync(IPEndPoint endPoint)
    {
        using var socket = await ConnectAsync(endPoint);
        await socket.SendAsync(CloseRequest);
        while (await socket.ReceiveAsync(_buffer) > 0)
        {
        }
    }

    private async Task KeepAliveAsync(Socket socket)
    {
        await socket.SendAsync(KeepAliveRequest);
        var received = 0;
        while (received < _keepAliveResponseLength)
        {
            var read = await socket.ReceiveAsync(_buffer);
            if (read == 0)
            {
                throw new InvalidOperationException("The server closed a keep-alive connection.");
            }

            received += read;
        }
    }
}

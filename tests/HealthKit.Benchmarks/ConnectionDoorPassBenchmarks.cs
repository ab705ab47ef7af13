// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using HealthKit.Doors.Connection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Benchmarks;

/// <summary>
/// The connection door's whole pass path, without a network: a connection whose first request head is already
/// received (as it is when Kestrel calls connection middleware for a client that sent it with the connect), handed to
/// the next delegate, which reads and consumes it as Kestrel's HTTP/1 parser would. "Without the door" calls that
/// delegate directly. The door comes from a real app's services (<c>AddDeployHealth()</c>), so it is the one Kestrel uses.
/// </summary>
[MemoryDiagnoser]
public class ConnectionDoorPassBenchmarks
{
    private static readonly byte[] Head = Encoding.ASCII.GetBytes(
        "GET /orders?page=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: .AspNetCore.Session=CfDJ8abc\r\n\r\n");

    private readonly Pipe _input = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _output = new(new PipeOptions(useSynchronizationContext: false));
    private BenchmarkApp _app = null!;
    private DefaultConnectionContext _connection = null!;
    private ConnectionDelegate _kestrel = null!;
    private ConnectionDelegate _door = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _app = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: true), Scenario.MapEndpoints, Scenario.LongCache);
        _connection = new DefaultConnectionContext("benchmark", new DuplexPipe(_input.Reader, _output.Writer), new DuplexPipe(_output.Reader, _input.Writer));
        _kestrel = ReadLikeKestrelAsync;
        _door = _app.Services.GetRequiredService<ConnectionDoor>().Wrap(HttpProtocols.Http1AndHttp2, _kestrel);

        // The door must pass this head untouched to the next delegate, or the benchmark measures something else.
        await ReceiveHeadAsync();
        await _door(_connection);
    }

    [GlobalCleanup]
    public Task CleanupAsync() => _app.DisposeAsync().AsTask();

    [Benchmark(Baseline = true, Description = "first head read by Kestrel, without the door")]
    public async Task WithoutDoor()
    {
        await ReceiveHeadAsync();
        await _kestrel(_connection);
    }

    [Benchmark(Description = "first head read by Kestrel, through the door")]
    public async Task WithDoor()
    {
        await ReceiveHeadAsync();
        await _door(_connection);
    }

    private ValueTask<FlushResult> ReceiveHeadAsync() => _input.Writer.WriteAsync(Head);

    private static async Task ReadLikeKestrelAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAsync();
        if (result.Buffer.Length != Head.Length)
        {
            throw new InvalidOperationException($"Kestrel would have read {result.Buffer.Length} bytes of a {Head.Length}-byte head.");
        }

        input.AdvanceTo(result.Buffer.End);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

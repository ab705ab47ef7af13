// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// HAProxy's plain <c>option httpchk GET /health</c> (HTTP/1.0, no Host header) against an application whose
/// PostgreSQL goes away and comes back: HAProxy takes the instance out and puts it back on its own. In the postgres
/// collection because it stops and restarts the shared server.
/// </summary>
[Collection("postgres")]
public sealed class HaproxyHttpCheckTests(PostgresServer postgres, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Httpchk_PostgresStopsThenStarts_ServerGoesDownThenUp()
    {
        await using var app = await LifecycleApp.StartAsync(configureBuilder: b => b.Services.AddNpgsqlDataSource(postgres.ConnectionString));
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                option httpchk GET /health
                server app 127.0.0.1:{app.Address.Port} check inter 500 fall 2 rise 2
            """));

        // HAProxy starts a server UP with its health at "rise", so one failed check at start takes it DOWN: the
        // first evaluation opens the first PostgreSQL connection and may outlast a 500 ms check. Wait for UP.
        await ServerHost.WaitUntilAsync(
            "the server to be UP on a passing health check",
            async () =>
            {
                var row = await HaproxyStats.GetServerRowAsync(haproxy, "be", "app");
                return row["status"] == "UP" && row["check_status"] == "L7OK";
            },
            Bound);
        Assert.Equal(200, (await RawHttp.GetAsync(haproxy.Address, "/", "localhost")).Status);

        await postgres.StopAsync();
        try
        {
            var down = await HaproxyStats.TimeUntilStatusAsync(haproxy, "be", "app", "DOWN", Bound);
            output.WriteLine($"PostgreSQL stopped: DOWN after {down.TotalMilliseconds:0} ms (inter 500 fall 2, CacheDuration 2 s); {await HaproxyStats.DescribeAsync(haproxy, "be", "app")}");
            Assert.Equal(503, (await RawHttp.GetAsync(haproxy.Address, "/", "localhost")).Status);
        }
        finally
        {
            await postgres.StartAsync();
        }

        var up = await HaproxyStats.TimeUntilStatusAsync(haproxy, "be", "app", "UP", Bound);
        output.WriteLine($"PostgreSQL started: UP after {up.TotalMilliseconds:0} ms (inter 500 rise 2); {await HaproxyStats.DescribeAsync(haproxy, "be", "app")}");
        Assert.Equal(200, (await RawHttp.GetAsync(haproxy.Address, "/", "localhost")).Status);
    }
}

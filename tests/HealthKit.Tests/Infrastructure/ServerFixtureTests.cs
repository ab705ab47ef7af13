// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Npgsql;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// The real-server fixtures do what other tests rely on: each server starts, serves, and (PostgreSQL, Redis) stops,
/// restarts and freezes on demand. In the postgres collection because it stops and restarts the shared server.
/// </summary>
[Collection("postgres")]
public sealed class ServerFixtureTests(PostgresServer postgres)
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Postgres_StopThenStart_RefusesThenServesAgain()
    {
        Assert.Equal(1, await SelectOneAsync(postgres.ConnectionString));

        await postgres.StopAsync();
        try
        {
            var refused = await Assert.ThrowsAsync<NpgsqlException>(() => SelectOneAsync(postgres.ConnectionString));
            var socket = Assert.IsType<SocketException>(refused.InnerException);
            Assert.Equal(SocketError.ConnectionRefused, socket.SocketErrorCode);
        }
        finally
        {
            await postgres.StartAsync();
        }

        Assert.Equal(1, await SelectOneAsync(postgres.ConnectionString));
    }

    [Fact]
    public async Task Postgres_CreateDatabase_CountsItsCommittedTransactions()
    {
        var connectionString = await postgres.CreateDatabaseAsync("fixture_check");
        var before = await postgres.GetCommittedTransactionsAsync("fixture_check");

        await using (var connection = new NpgsqlConnection(connectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            Assert.Equal("fixture_check", connection.Database);
            for (var i = 0; i < 5; i++)
            {
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
            }
        }

        // The closed backend reports its counts as it exits, a moment after the close.
        await ServerHost.WaitUntilAsync(
            "the 5 statements to show in xact_commit",
            async () => await postgres.GetCommittedTransactionsAsync("fixture_check") >= before + 5,
            StatusTimeout);
    }

    [Fact]
    public async Task Redis_FreezeThenThaw_PingTimesOutThenAnswers()
    {
        var redis = new RedisServer();
        await redis.InitializeAsync();
        try
        {
            Assert.Equal($"127.0.0.1:{redis.Port}", redis.Configuration);
            Assert.Equal("PONG", await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "PING"));

            redis.Freeze();
            await Assert.ThrowsAsync<TimeoutException>(() => redis.ExecuteAsync(TimeSpan.FromMilliseconds(500), "PING"));

            redis.Thaw();
            Assert.Equal("PONG", await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "PING"));
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Redis_StopThenStart_RefusesThenAnswersOnTheSamePort()
    {
        var redis = new RedisServer();
        await redis.InitializeAsync();
        try
        {
            Assert.Equal("OK", await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "SET", "key", "value"));
            Assert.Equal("value", await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "GET", "key"));
            var port = redis.Port;

            await redis.StopAsync();
            var refused = await Assert.ThrowsAsync<SocketException>(() => redis.ExecuteAsync(TimeSpan.FromSeconds(2), "PING"));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

            await redis.StartAsync();
            Assert.Equal(port, redis.Port);
            Assert.Equal("PONG", await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "PING"));
            Assert.Null(await redis.ExecuteAsync(TimeSpan.FromSeconds(2), "GET", "key"));
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Haproxy_HttpCheck_MarksListeningServerUpAndClosedPortDown()
    {
        await using var app = await StartUpstreamAsync();
        var closedPort = ServerHost.GetFreePort();
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => $"""
            global
                stats socket {socket} level admin
            defaults
                mode http
                timeout connect 1s
                timeout client 5s
                timeout server 5s
                timeout check 1s
            frontend fe
                bind 127.0.0.1:{port}
                default_backend be
            backend be
                option httpchk GET /
                server app 127.0.0.1:{app.Address.Port} check inter 100 fall 1 rise 1
                server gone 127.0.0.1:{closedPort} check inter 100 fall 1 rise 1 backup
            """);

        // Servers start UP; "gone" going DOWN shows the checks have run.
        await haproxy.WaitForServerStatusAsync("be", "gone", s => s == "DOWN", StatusTimeout);
        Assert.Equal("UP", await haproxy.GetServerStatusAsync("be", "app"));
        var response = await RawHttp.GetAsync(haproxy.Address, "/", "example.com");
        Assert.Equal(200, response.Status);
        Assert.Equal("upstream", response.Body);
    }

    [Fact]
    public async Task Nginx_ProxyPass_ForwardsToTheListener()
    {
        await using var app = await StartUpstreamAsync();
        await using var nginx = await NginxServer.StartAsync(port => $$"""
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    proxy_pass http://127.0.0.1:{{app.Address.Port}};
                }
            }
            """);

        var response = await RawHttp.GetAsync(nginx.Address, "/", "example.com");

        Assert.Equal(200, response.Status);
        Assert.Equal("upstream", response.Body);
        Assert.StartsWith("nginx", response.Header("Server"), StringComparison.Ordinal);
    }

    [Fact]
    public void FindExecutable_MissingBinary_NamesTheAptPackage()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => ServerHost.FindExecutable("healthkit-no-such-server", "healthkit-server-package"));

        Assert.Contains("apt-get install -y healthkit-server-package", missing.Message, StringComparison.Ordinal);
    }

    private static Task<KestrelApp> StartUpstreamAsync() =>
        KestrelApp.StartAsync(configureApp: app => app.MapGet("/", () => Results.Text("upstream")));

    private static async Task<int> SelectOneAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}

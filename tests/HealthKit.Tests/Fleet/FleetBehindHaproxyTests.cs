// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace HealthKit.Tests.Fleet;

/// <summary>
/// Several instances of one application on 127.0.0.1 behind a real HAProxy (<c>option httpchk GET /health</c>,
/// <c>inter 500 fall 2 rise 2</c> as in samples/deploy/haproxy.cfg), with a real PostgreSQL and Redis: what the balancer does with each instance when a
/// dependency fails for all of them, for one of them, or when one instance differs. "Stayed UP" is read from
/// HAProxy's own <c>chkdown</c> counter (UP to DOWN transitions), so a short flap would be caught too.
/// </summary>
[Collection("fleet")]
public sealed partial class FleetBehindHaproxyTests(PostgresServer postgres, RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly DirectoryInfo _keys = ServerHost.CreateTempDirectory("fleet-keys");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        ServerHost.DeleteTempDirectory(_keys);
    }

    [Fact]
    public async Task Readiness_PostgresStoppedForAll_FleetStaysUpAndServesWhileInstancesWithoutFleetViewGoDown()
    {
        var fleet = await StartInstancesAsync("pg-all", 3, postgres.ConnectionString);
        var alone = await StartInstancesAsync("pg-all-off", 3, postgres.ConnectionString, fleetView: false);
        var (haproxy, frontends) = await StartHaproxyAsync(("fleet", fleet), ("alone", alone));
        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        try
        {
            await WaitForAllAsync(haproxy, "alone", 3, "UP");
        }
        catch (TimeoutException)
        {
            output.WriteLine(await FleetApp.DocumentAsync(alone[0]));
            output.WriteLine(string.Join('\n', alone[0].Logs.GetSnapshot().Select(r => $"{r.Timestamp:HH:mm:ss.fff} {r.Id.Name}: {r.Message}")));
            throw;
        }

        var flapsBefore = await DownTransitionsAsync(haproxy, "fleet", 3);
        var marks = LogMarks(fleet);

        // The instances without the fleet view are the contrast: the same outage takes all of them out.
        await postgres.StopAsync();
        try
        {
            await WaitForAllAsync(haproxy, "alone", 3, "DOWN");
            for (var i = 0; i < 3; i++)
            {
                await WaitForLogAsync(fleet[i], "FleetOutage", marks[i]);
            }

            output.WriteLine(await DescribeAsync(haproxy, "fleet", 3));
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal("UP", await haproxy.GetServerStatusAsync("fleet", "s" + i));
            }

            Assert.Equal(flapsBefore, await DownTransitionsAsync(haproxy, "fleet", 3));
            var page = await RawHttp.GetAsync(frontends["fleet"], "/static", "localhost");
            Assert.Equal(200, page.Status);
            Assert.Contains("needs no database", page.Body, StringComparison.Ordinal);
            Assert.Equal(503, (await RawHttp.GetAsync(frontends["alone"], "/static", "localhost")).Status);

            using var document = JsonDocument.Parse(await FleetApp.DocumentAsync(fleet[0]));
            output.WriteLine(document.RootElement.ToString());
            Assert.Equal("warn", document.RootElement.GetProperty("status").GetString());
            Assert.Matches("^fleet-wide outage: 'postgres' fails on [23] of 3 instances; staying in rotation$", document.RootElement.GetProperty("notes")[0].GetString());
        }
        finally
        {
            await postgres.StartAsync();
        }

        await WaitForAllAsync(haproxy, "alone", 3, "UP");
        for (var i = 0; i < 3; i++)
        {
            await WaitForLogAsync(fleet[i], "FleetOutageOver", marks[i]);
        }

        Assert.Equal(flapsBefore, await DownTransitionsAsync(haproxy, "fleet", 3));
        WriteFleetEvents(fleet);

        // Stronger than HAProxy's counter, which a short ejection between two checks escapes: no instance ever
        // decided to leave for PostgreSQL, neither as the first to see it stop nor as the last to see it return.
        for (var i = 0; i < 3; i++)
        {
            Assert.DoesNotContain(fleet[i].Logs.GetSnapshot().Skip(marks[i]), r => r.Id.Name == "FleetSharedFailureEjects" && r.Message.Contains("'postgres'", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Readiness_OneInstanceCutOffFromPostgres_OnlyThatOneGoesDownAndComesBack()
    {
        var relay = TcpRelay.StartTo(postgres.Port);
        _owned.Add(relay);
        var direct = await StartInstancesAsync("pg-one", 2, postgres.ConnectionString);
        var cut = await StartInstancesAsync("pg-one", 1, postgres.ConnectionString.Replace($"Port={postgres.Port}", $"Port={relay.Port}", StringComparison.Ordinal));
        var (haproxy, _) = await StartHaproxyAsync(("fleet", [.. direct, .. cut]));
        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        var flapsBefore = await DownTransitionsAsync(haproxy, "fleet", 2);

        await relay.StopAsync();
        await haproxy.WaitForServerStatusAsync("fleet", "s2", s => s == "DOWN", Bound);
        var ejected = await WaitForLogAsync(cut[0], "FleetSharedFailureEjects");
        output.WriteLine(ejected.Message);
        output.WriteLine(await DescribeAsync(haproxy, "fleet", 3));
        Assert.Contains("'postgres'", ejected.Message, StringComparison.Ordinal);
        Assert.Equal("UP", await haproxy.GetServerStatusAsync("fleet", "s0"));
        Assert.Equal("UP", await haproxy.GetServerStatusAsync("fleet", "s1"));
        Assert.Equal(flapsBefore, await DownTransitionsAsync(haproxy, "fleet", 2));

        relay.Start();
        await haproxy.WaitForServerStatusAsync("fleet", "s2", s => s == "UP", Bound);
        Assert.Equal(flapsBefore, await DownTransitionsAsync(haproxy, "fleet", 2));
    }

    [Fact]
    public async Task Readiness_FourthInstanceWithItsOwnKeyRing_KeptOutWhileTheOthersStayUp()
    {
        var shared = await StartInstancesAsync("keys", 3, postgres.ConnectionString);
        var own = ServerHost.CreateTempDirectory("fleet-own-keys");

        // Owned things are disposed last first: the directory goes after the instance that keeps its keys there.
        _owned.Add(new DeleteLater(own));
        var odd = await FleetApp.StartAsync(FleetName("keys"), postgres.ConnectionString, redis.Port, own);
        _owned.Add(odd);
        var (haproxy, _) = await StartHaproxyAsync(("fleet", [.. shared, odd]));

        await haproxy.WaitForServerStatusAsync("fleet", "s3", s => s == "DOWN", Bound);
        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        output.WriteLine(await DescribeAsync(haproxy, "fleet", 4));

        var document = await FleetApp.DocumentAsync(odd);
        output.WriteLine(document);
        Assert.Contains("Data Protection key ring differs from 3 of 4 instances", document, StringComparison.Ordinal);
        Assert.Equal(503, await FleetApp.ReadinessAsync(odd));
        var healthy = await FleetApp.DocumentAsync(shared[0]);
        Assert.Contains("\"live\":4", healthy, StringComparison.Ordinal);
        Assert.Equal(200, await FleetApp.ReadinessAsync(shared[0]));
    }

    [Fact]
    public async Task Readiness_RedisStopped_LastPictureKeptForTheGracePeriodThenEachJudgesAlone()
    {
        var fleet = await StartInstancesAsync("redis-lost", 3, postgres.ConnectionString, configuration: new Dictionary<string, string?>
        {
            ["DeployHealth:Fleet:BoardLossTolerance"] = "00:00:04",
        });
        var (haproxy, _) = await StartHaproxyAsync(("fleet", fleet));
        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        var marks = LogMarks(fleet);

        await redis.StopAsync();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                await WaitForLogAsync(fleet[i], "FleetBoardLost", marks[i]);
            }

            for (var i = 0; i < 3; i++)
            {
                // Through the grace period Redis's failure on every instance took none of them out: every probe
                // HAProxy sent between Redis stopping and the instance judging alone was answered 200.
                var alone = await WaitForLogAsync(fleet[i], "FleetJudgingAlone", marks[i]);
                var probes = ProbeAnswers(fleet[i], marks[i], alone);
                output.WriteLine($"instance {i}: {probes.Count} probes in the grace period: {string.Join(' ', probes.Distinct())}");
                Assert.NotEmpty(probes);
                Assert.All(probes, status => Assert.Equal(200, status));
                Assert.Contains(
                    fleet[i].Logs.GetSnapshot().Skip(marks[i]).TakeWhile(r => !ReferenceEquals(r, alone)),
                    r => r.Id.Name == "CheckNotHealthy" && r.Message.StartsWith("Health check 'redis' is Unhealthy", StringComparison.Ordinal));
            }

            // Then each judges alone, as without the fleet view: Redis (a discovered check) fails, so each leaves.
            await WaitForAllAsync(haproxy, "fleet", 3, "DOWN");
            output.WriteLine(await DescribeAsync(haproxy, "fleet", 3));
        }
        finally
        {
            await redis.StartAsync();
        }

        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        for (var i = 0; i < 3; i++)
        {
            await WaitForLogAsync(fleet[i], "FleetBoardRestored", marks[i]);
        }
    }

    [Fact]
    public async Task Readiness_TenFaultCycles_LeaveNoKeysOrConnectionsBehind()
    {
        // Instance 2 reaches PostgreSQL through a relay of its own; every instance reaches Redis (its check and the
        // board) through one shared relay. Odd cycles cut instance 2 off from PostgreSQL (it leaves and comes back),
        // even cycles cut Redis for all (the board is lost and read again).
        var database = await postgres.CreateDatabaseAsync("fleet_cycles");
        var pgRelay = TcpRelay.StartTo(postgres.Port);
        _owned.Add(pgRelay);
        var redisRelay = TcpRelay.StartTo(redis.Port);
        _owned.Add(redisRelay);
        var fleetName = FleetName("cycles");
        var fleet = new List<KestrelApp>();
        for (var i = 0; i < 3; i++)
        {
            var connectionString = i < 2 ? database : database.Replace($"Port={postgres.Port}", $"Port={pgRelay.Port}", StringComparison.Ordinal);
            var app = await FleetApp.StartAsync(fleetName, connectionString, redisRelay.Port, _keys);
            _owned.Add(app);
            fleet.Add(app);
        }

        var (haproxy, _) = await StartHaproxyAsync(("fleet", fleet));
        await WaitForAllAsync(haproxy, "fleet", 3, "UP");
        var keys = $"healthkit:fleet:{{{fleetName}}}:*";
        var pgBaseline = await BackendsAsync("fleet_cycles");
        var redisBaseline = (await RedisClientsAsync()).Count;
        output.WriteLine($"baseline: {pgBaseline} PostgreSQL backends, {redisBaseline} Redis clients, keys {string.Join(' ', await RedisKeysAsync(keys))}");
        var flapsBefore = await DownTransitionsAsync(haproxy, "fleet", 2);

        for (var cycle = 1; cycle <= 10; cycle++)
        {
            var marks = LogMarks(fleet);
            if (cycle % 2 == 1)
            {
                await pgRelay.StopAsync();
                await haproxy.WaitForServerStatusAsync("fleet", "s2", s => s == "DOWN", Bound);
                pgRelay.Start();
                await haproxy.WaitForServerStatusAsync("fleet", "s2", s => s == "UP", Bound);
            }
            else
            {
                await redisRelay.StopAsync();
                for (var i = 0; i < 3; i++)
                {
                    await WaitForLogAsync(fleet[i], "FleetBoardLost", marks[i]);
                }

                redisRelay.Start();
                for (var i = 0; i < 3; i++)
                {
                    await WaitForLogAsync(fleet[i], "FleetBoardRestored", marks[i]);
                }
            }

            output.WriteLine($"cycle {cycle}: {await BackendsAsync("fleet_cycles")} backends, {(await RedisClientsAsync()).Count} Redis clients, {(await RedisKeysAsync(keys)).Count} keys");
        }

        await WaitForAllAsync(haproxy, "fleet", 3, "UP");

        // Nothing grew: the board is its two keys with one entry per instance, and once every instance is back the
        // connections are as many as before the first fault (the broken ones were closed, not kept or piled up).
        var left = await RedisKeysAsync(keys);
        Assert.Equal([$"healthkit:fleet:{{{fleetName}}}:entries", $"healthkit:fleet:{{{fleetName}}}:expiry"], left.Order(StringComparer.Ordinal));
        Assert.Equal("3", await redis.ExecuteAsync(TimeSpan.FromSeconds(5), "HLEN", $"healthkit:fleet:{{{fleetName}}}:entries"));
        Assert.Equal("3", await redis.ExecuteAsync(TimeSpan.FromSeconds(5), "ZCARD", $"healthkit:fleet:{{{fleetName}}}:expiry"));
        await ServerHost.WaitUntilAsync(
            $"PostgreSQL backends back to {pgBaseline} and Redis clients back to {redisBaseline}",
            async () => await BackendsAsync("fleet_cycles") <= pgBaseline && (await RedisClientsAsync()).Count <= redisBaseline,
            Bound);
        output.WriteLine(string.Join('\n', await RedisClientsAsync()));
        Assert.Equal(flapsBefore, await DownTransitionsAsync(haproxy, "fleet", 2));
        WriteFleetEvents(fleet);
    }

    private async Task<List<KestrelApp>> StartInstancesAsync(
        string fleet, int count, string connectionString, bool fleetView = true, IDictionary<string, string?>? configuration = null)
    {
        var started = new List<KestrelApp>(count);
        for (var i = 0; i < count; i++)
        {
            var app = await FleetApp.StartAsync(FleetName(fleet), connectionString, redis.Port, _keys, fleetView, configuration);
            _owned.Add(app);
            started.Add(app);
        }

        return started;
    }

    /// <summary>A board of this test's own: names are unique per test instance, so no test reads another's entries.</summary>
    private string FleetName(string name) => name + "-" + RuntimeHelpers.GetHashCode(this).ToString("x", CultureInfo.InvariantCulture);

    private async Task<(HaproxyServer Haproxy, Dictionary<string, Uri> Frontends)> StartHaproxyAsync(params (string Name, IReadOnlyList<KestrelApp> Instances)[] backends)
    {
        var started = await FleetApp.StartHaproxyAsync(backends);
        _owned.Add(started.Haproxy);
        return started;
    }

    private static async Task WaitForAllAsync(HaproxyServer haproxy, string backend, int count, string status)
    {
        for (var i = 0; i < count; i++)
        {
            await haproxy.WaitForServerStatusAsync(backend, "s" + i, s => s == status, Bound);
        }
    }

    private static async Task<long> DownTransitionsAsync(HaproxyServer haproxy, string backend, int count)
    {
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            total += long.Parse((await HaproxyStats.GetServerRowAsync(haproxy, backend, "s" + i))["chkdown"], CultureInfo.InvariantCulture);
        }

        return total;
    }

    private static async Task<string> DescribeAsync(HaproxyServer haproxy, string backend, int count)
    {
        var lines = new List<string>();
        for (var i = 0; i < count; i++)
        {
            lines.Add($"{backend}/s{i}: " + await HaproxyStats.DescribeAsync(haproxy, backend, "s" + i));
        }

        return string.Join('\n', lines);
    }

    /// <summary>Waits (bounded) for <paramref name="eventName"/> logged after the first <paramref name="after"/> entries.</summary>
    private static async Task<FakeLogRecord> WaitForLogAsync(KestrelApp app, string eventName, int after = 0)
    {
        FakeLogRecord? found = null;
        await ServerHost.WaitUntilAsync(
            $"log event {eventName}",
            () => Task.FromResult((found = app.Logs.GetSnapshot().Skip(after).FirstOrDefault(r => r.Id.Name == eventName)) is not null),
            Bound);
        return found!;
    }

    /// <summary>The status codes the instance answered to HAProxy's probes (HTTP/1.0 GET /health) after the first <paramref name="after"/> log entries, until <paramref name="until"/>.</summary>
    private static List<int> ProbeAnswers(KestrelApp app, int after, FakeLogRecord until)
    {
        var answers = new List<int>();
        foreach (var record in app.Logs.GetSnapshot().Skip(after))
        {
            if (ReferenceEquals(record, until))
            {
                break;
            }

            var match = ProbeFinished().Match(record.Message);
            if (match.Success)
            {
                answers.Add(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        return answers;
    }

    [GeneratedRegex(@"^Request finished HTTP/1\.0 GET http:///health - (\d{3}) ")]
    private static partial Regex ProbeFinished();

    /// <summary>PostgreSQL's backends connected to <paramref name="database"/>, counted over a connection to another database.</summary>
    private async Task<long> BackendsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Redis's CLIENT LIST, one line per connection, without the connection that asks (the newest, running CLIENT).</summary>
    private async Task<List<string>> RedisClientsAsync()
    {
        var lines = ((await redis.ExecuteAsync(TimeSpan.FromSeconds(5), "CLIENT", "LIST")) ?? string.Empty)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        var asker = lines.MaxBy(ClientId);
        lines.Remove(asker!);
        return lines;

        static long ClientId(string line) => long.Parse(line.AsSpan(3, line.IndexOf(' ', StringComparison.Ordinal) - 3), CultureInfo.InvariantCulture);
    }

    private async Task<List<string>> RedisKeysAsync(string pattern) =>
        [.. ((await redis.ExecuteAsync(TimeSpan.FromSeconds(5), "KEYS", pattern)) ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The fleet's decisions and the checks' transitions of every instance, in the test's output.</summary>
    private void WriteFleetEvents(List<KestrelApp> fleet)
    {
        for (var i = 0; i < fleet.Count; i++)
        {
            foreach (var record in fleet[i].Logs.GetSnapshot())
            {
                if (record.Id.Name is "FleetSharedFailureEjects" or "FleetOutage" or "FleetOutageOver" or "CheckHealthy" or "CheckNotHealthy" or "FleetBoardLost" or "FleetBoardRestored")
                {
                    var message = record.Message.Length <= 200 ? record.Message : record.Message[..200] + "...";
                    output.WriteLine($"instance {i} {record.Timestamp:HH:mm:ss.fff} {record.Id.Name}: {message}");
                }
            }
        }
    }

    private static int[] LogMarks(List<KestrelApp> apps) => [.. apps.Select(a => a.Logs.GetSnapshot().Count)];

    private sealed class DeleteLater(DirectoryInfo directory) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            ServerHost.DeleteTempDirectory(directory);
            return ValueTask.CompletedTask;
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace HealthKit.Tests.Checks;

/// <summary>
/// The discovered Redis check, through AddStackExchangeRedisCache or a registered IConnectionMultiplexer, against a
/// real Redis that the tests freeze (SIGSTOP) the way an overloaded server hangs. In the redis collection: the server
/// is shared and must not be frozen under another test.
/// </summary>
[Collection("redis")]
public sealed class RedisChecksTests(RedisServer redis, ITestOutputHelper output)
{
    private const string Cache = "cache";
    private const string Multiplexer = "multiplexer";
    private const string MultiplexerAndCache = "multiplexer+cache";

    // AspNetCore.HealthChecks.Redis waits for StackExchange.Redis's 5 s timeout on a frozen server and ignores its
    // token. With a 0.5 s deadline the probe must answer far sooner; 3 s leaves room for a slow shared machine and
    // still fails if the probe waits for the check.
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan FrozenProbeBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    public static TheoryData<string, string> KindsAndOrders => new()
    {
        { Cache, DependencyProbe.HealthFirst },
        { Cache, DependencyProbe.DependencyFirst },
        { Multiplexer, DependencyProbe.HealthFirst },
        { Multiplexer, DependencyProbe.DependencyFirst },
    };

    [Theory]
    [MemberData(nameof(KindsAndOrders))]
    public async Task Probe_RedisHealthyFrozenThawed_200Then503WithinDeadlineThen200(string kind, string order)
    {
        await using var app = await DependencyProbe.StartAsync(
            order,
            services => Register(services, kind, redis.Configuration),
            new() { ["DeployHealth:CheckDeadline"] = Deadline.ToString("c", CultureInfo.InvariantCulture) });

        Assert.Equal(["redis"], DependencyProbe.CheckNames(app));

        // The first evaluation connects (and, cold, loads StackExchange.Redis); that may take longer than a 0.5 s deadline.
        await DependencyProbe.WaitForStatusAsync(app, 200, RecoveryTimeout);

        redis.Freeze();
        try
        {
            // The first probe starts a check that hangs; the second finds it still running from the first evaluation.
            for (var i = 1; i <= 2; i++)
            {
                var watch = Stopwatch.StartNew();
                var frozen = await DependencyProbe.ReadinessAsync(app, TimeSpan.FromSeconds(15));
                watch.Stop();
                output.WriteLine($"{kind}, {order}: probe {i} with Redis frozen answered {frozen.Status} in {watch.Elapsed.TotalMilliseconds:0} ms (deadline {Deadline.TotalMilliseconds:0} ms); {DependencyProbe.Describe(app)}");

                Assert.Equal(503, frozen.Status);
                Assert.Equal("""{"status":"fail"}""", frozen.Body);
                Assert.True(watch.Elapsed < FrozenProbeBound, $"Probe {i} took {watch.Elapsed.TotalMilliseconds:0} ms with Redis frozen: it waited for the check, not its {Deadline.TotalMilliseconds:0} ms deadline.");
            }
        }
        finally
        {
            redis.Thaw();
        }

        var recovered = await DependencyProbe.WaitForStatusAsync(app, 200, RecoveryTimeout);
        Assert.Equal("""{"status":"pass"}""", recovered.Body);
        Assert.Equal(HealthStatus.Healthy, DependencyProbe.LastReport(app).Entries["redis"].Status);
    }

    /// <summary>
    /// The application's own multiplexer is reused: after any number of evaluations Redis has seen no connection
    /// other than the application's. With AddStackExchangeRedisCache as well (its Configuration set, as apps do),
    /// HealthKit must still take the registered multiplexer rather than connect from the cache's configuration.
    /// </summary>
    [Theory]
    [InlineData(Multiplexer)]
    [InlineData(MultiplexerAndCache)]
    public async Task Probe_RegisteredMultiplexer_NoSecondConnection(string kind)
    {
        var clientName = "hk-app-" + Guid.NewGuid().ToString("N")[..8];
        var options = ConfigurationOptions.Parse(redis.Configuration);
        options.ClientName = clientName;
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        var (before, lastIdBefore) = await ClientsAsync();
        output.WriteLine($"Before: {before.Count} client(s), last id {lastIdBefore}, {before.Count(c => c.Name == clientName)} of the app's.");

        await using (var app = await DependencyProbe.StartAsync(DependencyProbe.HealthFirst, services =>
        {
            services.AddSingleton<IConnectionMultiplexer>(multiplexer);
            if (kind == MultiplexerAndCache)
            {
                services.AddStackExchangeRedisCache(o => o.Configuration = redis.Configuration);
            }
        }))
        {
            for (var i = 0; i < 5; i++)
            {
                var response = await DependencyProbe.ReadinessAsync(app);
                Assert.True(response.Status == 200, $"{response}; {DependencyProbe.Describe(app)}");
            }

            Assert.Equal(HealthStatus.Healthy, DependencyProbe.LastReport(app).Entries["redis"].Status);
            var (after, _) = await ClientsAsync();
            var opened = after.Where(c => c.Id > lastIdBefore && c.Name != clientName).ToList();
            output.WriteLine($"After 5 probes: {after.Count} client(s); opened since, not the app's: {opened.Count}");

            Assert.True(opened.Count == 0, "Connections opened besides the application's:\n" + string.Join('\n', opened.Select(c => c.Line)));
        }
    }

    /// <summary>
    /// Without a registered multiplexer HealthKit makes one connection of its own from the cache's configuration,
    /// once for the host (never per evaluation), and closes it when the host stops.
    /// </summary>
    [Fact]
    public async Task Probe_RedisCacheOnly_OneConnectionForTheHost_ClosedOnStop()
    {
        var (_, lastIdBefore) = await ClientsAsync();
        List<RedisClient> opened;
        await using (var app = await DependencyProbe.StartAsync(DependencyProbe.HealthFirst, services => Register(services, Cache, redis.Configuration)))
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(200, (await DependencyProbe.ReadinessAsync(app)).Status);
            }

            opened = (await ClientsAsync()).Clients.Where(c => c.Id > lastIdBefore).ToList();
            output.WriteLine($"Connections opened for 10 evaluations:\n{string.Join('\n', opened.Select(c => c.Line))}");

            // One multiplexer: an interactive connection and, unless disabled, a subscription connection.
            Assert.InRange(opened.Count, 1, 2);
        }

        var ids = opened.Select(c => c.Id).ToHashSet();
        await ServerHost.WaitUntilAsync(
            "HealthKit's Redis connection to close after the host stopped",
            async () => !(await ClientsAsync()).Clients.Any(c => ids.Contains(c.Id)),
            TimeSpan.FromSeconds(10));
    }

    private static void Register(IServiceCollection services, string kind, string configuration)
    {
        if (kind == Cache)
        {
            services.AddStackExchangeRedisCache(o => o.Configuration = configuration);
        }
        else
        {
            // The container disposes the multiplexer with the host.
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(configuration));
        }
    }

    /// <summary>
    /// Redis's CLIENT LIST without the connection that asks it, and the id of that connection: the highest so far,
    /// since Redis numbers connections in the order they are accepted.
    /// </summary>
    private async Task<(List<RedisClient> Clients, long AskerId)> ClientsAsync()
    {
        var list = await redis.ExecuteAsync(CommandTimeout, "CLIENT", "LIST") ?? string.Empty;
        var all = list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(RedisClient.Parse).ToList();
        var asker = all.Single(c => c.Command.StartsWith("client", StringComparison.Ordinal) && c.Id == all.Max(a => a.Id));
        all.Remove(asker);
        return (all, asker.Id);
    }

    private sealed record RedisClient(long Id, string Name, string Command, string Line)
    {
        public static RedisClient Parse(string line)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(f => f.Split('=', 2))
                .Where(f => f.Length == 2)
                .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            return new RedisClient(long.Parse(fields["id"], CultureInfo.InvariantCulture), fields.GetValueOrDefault("name", string.Empty), fields.GetValueOrDefault("cmd", string.Empty), line);
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using HealthKit.Verdict;
using HealthKit.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace HealthKit.Tests.Checks;

/// <summary>
/// Many probers cost the database what one does: 50 concurrent probers for 10 s on loopback against an app whose
/// readiness checks PostgreSQL, and the transactions the database committed meanwhile, counted by the server itself
/// (<c>pg_stat_database.xact_commit</c>) in a database of the test's own. Without the cache and single flight every
/// probe would be a transaction. In the postgres collection: it must not run while another test stops the server.
/// </summary>
[Collection("postgres")]
public sealed class ProbeLoadTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const int Probers = 50;
    private const int MaxProbesPerProber = 200_000;
    private const int CalibrationEvaluations = 5;
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(2);

    // An evaluation starts when a probe finds the result older than CacheDuration: at most one per period, plus the
    // one the load starts with. Two more for timer granularity and an evaluation that straddles the end.
    private static readonly int MaxEvaluations = (int)(LoadDuration / CacheDuration) + 3;

    [Theory]
    [InlineData("datasource")]
    [InlineData("dbcontext")]
    public async Task Readiness_50ProbersFor10s_DatabaseWorkBoundedByCacheDuration(string kind)
    {
        var database = $"hk_load_{kind}";
        var connectionString = await postgres.CreateDatabaseAsync(database);
        if (kind == "dbcontext")
        {
            await ShopContext.MigrateAsync((DbContextOptions<ShopContext>)ShopContext.Configure(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(connectionString)).Options);
        }

        await using var app = await DependencyProbe.StartAsync(
            DependencyProbe.HealthFirst,
            services =>
            {
                if (kind == "datasource")
                {
                    services.AddNpgsqlDataSource(connectionString);
                }
                else
                {
                    services.AddDbContext<ShopContext>(o => ShopContext.Configure(o.UseNpgsql(connectionString)));
                }
            },
            new()
            {
                ["DeployHealth:CacheDuration"] = CacheDuration.ToString("c", CultureInfo.InvariantCulture),

                // What is bounded here is how often the database is asked, not how fast it answers: a check that ran
                // into the 2 s deadline on a loaded machine would commit nothing and skew the count.
                ["DeployHealth:CheckDeadline"] = "00:00:20",
                ["DeployHealth:BalancerProbeTimeout"] = "00:00:30",
            });
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        // The warm-up's evaluations first (a probe begins them), so that none lands inside a count below.
        await app.Services.GetRequiredService<HealthVerdict>().ReadinessAsync();
        var warmUp = app.Services.GetRequiredService<WarmUp>();
        for (var waited = Stopwatch.StartNew(); !warmUp.IsDone && waited.Elapsed < TimeSpan.FromSeconds(60);)
        {
            await Task.Delay(50);
        }

        Assert.True(warmUp.IsDone, "The warm-up did not finish within 60 s.");

        // What one evaluation costs, measured here rather than assumed (a pooled connection's reset, a provider's
        // extra statement): the bound below is in evaluations, whatever each one costs.
        await evaluator.EvaluateNowAsync();
        var calibrationStart = await SettledCountAsync(app, kind, database);
        for (var i = 0; i < CalibrationEvaluations; i++)
        {
            await evaluator.EvaluateNowAsync();
        }

        var perEvaluation = (await SettledCountAsync(app, kind, database) - calibrationStart) / (double)CalibrationEvaluations;
        Assert.True(perEvaluation >= 1, $"An evaluation committed {perEvaluation} transactions: the check does not reach the database.");

        var before = await SettledCountAsync(app, kind, database);
        var load = await ProbeAsync(app);
        var after = await SettledCountAsync(app, kind, database);

        var transactions = after - before;
        var evaluations = transactions / perEvaluation;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind}: {load.Sent} probes from {Probers} probers in {load.Elapsed.TotalSeconds:0.0} s ({load.Sent / load.Elapsed.TotalSeconds:0} req/s), {load.NotOk} not 200, {load.Errors} errors"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind}: {transactions} transactions committed ({perEvaluation:0.##} per evaluation, so {evaluations:0.#} evaluations; bound {MaxEvaluations})"));

        Assert.Equal(0, load.Errors);
        Assert.Equal(0, load.NotOk);
        Assert.True(load.Sent >= 20 * MaxEvaluations, $"Only {load.Sent} probes were sent: too few to show anything.");
        // Transactions per evaluation are an average of the calibration (a pooled connection's reset is not in every
        // one), so the count derived from them is a whole number only to within a fraction: 8.3 means 8.
        Assert.InRange(Math.Round(evaluations), 2, MaxEvaluations);
    }

    private async Task<LoadResult> ProbeAsync(KestrelApp app)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Probers, UseProxy = false };
        using var client = new HttpClient(handler) { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(40) };
        var sent = 0;
        var notOk = 0;
        var errors = 0;
        var watch = Stopwatch.StartNew();
        var probers = Enumerable.Range(0, Probers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < MaxProbesPerProber && watch.Elapsed < LoadDuration; i++)
            {
                try
                {
                    using var response = await client.GetAsync("/health");
                    Interlocked.Increment(ref sent);
                    if ((int)response.StatusCode != 200)
                    {
                        Interlocked.Increment(ref notOk);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
                catch (TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        await Task.WhenAll(probers);
        watch.Stop();
        return new LoadResult(sent, notOk, errors, watch.Elapsed);
    }

    /// <summary>
    /// The database's committed transactions, every count reported. An idle backend that flushed its counts less than
    /// a second before defers the next flush for up to 10 s (PostgreSQL 15's PGSTAT_IDLE_INTERVAL), while a backend
    /// that exits flushes at once: so the app's idle pooled connections are closed first (the next evaluation opens
    /// a new one), then the count is read until it stays the same. Bounded: 15 s.
    /// </summary>
    private async Task<long> SettledCountAsync(KestrelApp app, string kind, string database)
    {
        if (kind == "datasource")
        {
            app.Services.GetRequiredService<NpgsqlDataSource>().Clear();
        }
        else
        {
            await using var scope = app.Services.CreateAsyncScope();
            NpgsqlConnection.ClearPool((NpgsqlConnection)scope.ServiceProvider.GetRequiredService<ShopContext>().Database.GetDbConnection());
        }

        var watch = Stopwatch.StartNew();
        var last = await postgres.GetCommittedTransactionsAsync(database);
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(500);
            var current = await postgres.GetCommittedTransactionsAsync(database);
            if (current == last && await NoBackendAsync(database))
            {
                return current;
            }

            last = current;
        }

        throw new TimeoutException($"xact_commit of {database} did not settle within 15 s (last {last}).");
    }

    /// <summary>Whether no backend is connected to <paramref name="database"/> any more, so none has counts left to report.</summary>
    private async Task<bool> NoBackendAsync(string database)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        return (long)(await command.ExecuteScalarAsync())! == 0;
    }

    private sealed record LoadResult(int Sent, int NotOk, int Errors, TimeSpan Elapsed);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HealthKit.Tests.Evaluation;

/// <summary>The evaluator against what only a real clock and real threads show: a check that blocks, a refused socket.</summary>
public sealed class HealthEvaluatorThreadTests
{
    private static (HealthEvaluator Evaluator, FakeTimeProvider Time, FakeLogCollector Logs, ServiceProvider Services) Create(
        Action<DeployHealthBuilder> checks, Action<DeployHealthOptions>? configure = null, TimeProvider? time = null) =>
        TestEvaluator.WithOptions(checks, configure, time);

    [Fact]
    public async Task GetAsync_CheckBlocksSynchronously_DeadlineStillHolds()
    {
        using var release = new ManualResetEventSlim();
        var (evaluator, _, _, services) = Create(
            b => b.AddCheck("blocking", () => { release.Wait(TimeSpan.FromSeconds(30)); return HealthCheckResult.Healthy(); }),
            o => o.CheckDeadline = TimeSpan.FromMilliseconds(300),
            TimeProvider.System);
        await using var _ = services;

        try
        {
            var snapshot = await evaluator.GetAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(HealthStatus.Unhealthy, snapshot.Status);
            Assert.StartsWith("Timed out after 300 ms", snapshot.Report.Entries["blocking"].Description);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task GetAsync_WrapperPointsAtInnerException_DescriptionIsNpgsqlMessageWithSocketCause()
    {
        // What EF Core's execution strategies throw: a message that only points at its inner exception.
        var closedPort = ClosedLoopbackPort();
        var (evaluator, _, _, services) = Create(b => b.AddAsyncCheck("orders-db", async () =>
        {
            await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={closedPort};Timeout=5");
            try
            {
                await connection.OpenAsync();
            }
            catch (NpgsqlException refused)
            {
                throw new InvalidOperationException("An exception has been raised that is likely due to a transient failure. See the inner exception for details.", refused);
            }

            return HealthCheckResult.Healthy();
        }),
        o =>
        {
            // Npgsql's first connection, cold, on a busy machine; a deadline that long needs a balancer that waits as long.
            o.CheckDeadline = TimeSpan.FromSeconds(30);
            o.BalancerProbeTimeout = TimeSpan.FromSeconds(31);
        },
        TimeProvider.System);
        await using var _ = services;

        var entry = (await evaluator.GetAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Report.Entries["orders-db"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal($"Failed to connect to 127.0.0.1:{closedPort} (cause: Connection refused)", entry.Description);
    }

    [Fact]
    public async Task GetAsync_CheckHoldsTheThread_OtherChecksStartElsewhere_ThenItRunsOnItsOwnThread()
    {
        // The blocker returns only once the check after it has run: with checks started one after another on one
        // thread, that needs the watchdog to start the rest elsewhere. Both are healthy, well within the deadline.
        var others = 0;
        using var otherRan = new SemaphoreSlim(0);
        var (evaluator, _, logs, services) = Create(
            b =>
            {
                b.AddCheck("blocking-connect", () => otherRan.Wait(TimeSpan.FromSeconds(30))
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("the next check never started"));
                b.AddCheck("next", () =>
                {
                    Interlocked.Increment(ref others);
                    otherRan.Release();
                    return HealthCheckResult.Healthy();
                });
            },
            o =>
            {
                o.CheckDeadline = TimeSpan.FromSeconds(60);
                o.BalancerProbeTimeout = TimeSpan.FromSeconds(61);
            },
            TimeProvider.System);
        await using var _ = services;

        for (var round = 1; round <= 2; round++)
        {
            var snapshot = await evaluator.EvaluateNowAsync().WaitAsync(TimeSpan.FromSeconds(45));

            Assert.Equal(HealthStatus.Healthy, snapshot.Report.Entries["blocking-connect"].Status);
            Assert.Equal(HealthStatus.Healthy, snapshot.Report.Entries["next"].Status);
            Assert.Equal(round, others);
        }

        // Learned once: the second evaluation started it on a thread of its own from the beginning. Only this check's
        // lines count: on a loaded machine a thread descheduled inside "next" for the stall threshold looks the same.
        var learned = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "CheckBlocksCaller" && r.Message.Contains("'blocking-connect'", StringComparison.Ordinal));
        Assert.Equal(70, learned.Id.Id);
        Assert.Contains("'blocking-connect'", learned.Message, StringComparison.Ordinal);
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

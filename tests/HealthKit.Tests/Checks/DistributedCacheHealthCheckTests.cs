// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Checks;

/// <summary>
/// The round trip through a distributed cache HealthKit has no special support for (not memory, not Redis): set, get
/// and remove of a key of its own, probed over real Kestrel. The application's entries are never touched.
/// </summary>
public sealed class DistributedCacheHealthCheckTests
{
    private const string AppKey = "app:session:42";
    private static readonly byte[] AppValue = [1, 2, 3];

    [Theory]
    [InlineData(DependencyProbe.HealthFirst)]
    [InlineData(DependencyProbe.DependencyFirst)]
    public async Task Probe_OtherCacheRoundTrips_200_TouchesOnlyProbeKeys(string order)
    {
        await using var app = await DependencyProbe.StartAsync(order, services => services.AddDistributedSqlCacheStandIn());
        var cache = app.Services.GetRequiredService<StandInCache>();
        cache.Entries[AppKey] = AppValue;

        var responses = new List<RawResponse>();
        for (var i = 0; i < 3; i++)
        {
            responses.Add(await DependencyProbe.ReadinessAsync(app));
        }

        Assert.Equal(["cache"], DependencyProbe.CheckNames(app));
        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.All(responses, r => Assert.Equal("""{"status":"pass"}""", r.Body));
        Assert.Equal(HealthStatus.Healthy, DependencyProbe.LastReport(app).Entries["cache"].Status);

        // At least the three probes' set, get and remove; the start-up evaluation may add one more round.
        var touched = cache.Touched.ToArray();
        Assert.True(touched.Length >= 9, $"Only {touched.Length} cache operations for 3 evaluations.");
        Assert.All(touched, key => Assert.StartsWith("healthkit:probe:", key, StringComparison.Ordinal));
        Assert.Equal(AppValue, cache.Entries[AppKey]);
        Assert.Equal(new[] { AppKey }, cache.Entries.Keys);
    }

    [Fact]
    public async Task Probe_OtherCacheBroken_503_ThenRepaired_200()
    {
        await using var app = await DependencyProbe.StartAsync(DependencyProbe.HealthFirst, services => services.AddDistributedSqlCacheStandIn());
        var cache = app.Services.GetRequiredService<StandInCache>();
        Assert.Equal(200, (await DependencyProbe.ReadinessAsync(app)).Status);

        cache.Broken = true;
        var broken = await DependencyProbe.ReadinessAsync(app);
        var entry = DependencyProbe.LastReport(app).Entries["cache"];
        cache.Broken = false;
        var repaired = await DependencyProbe.ReadinessAsync(app);

        Assert.Equal(503, broken.Status);
        Assert.Equal("""{"status":"fail"}""", broken.Body);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal(200, repaired.Status);
        Assert.All(cache.Touched, key => Assert.StartsWith("healthkit:probe:", key, StringComparison.Ordinal));
    }
}

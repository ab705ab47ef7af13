// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HealthKit.Tests.Output;

/// <summary>
/// What an authorized caller sees when Redis hangs or goes away: StackExchange.Redis's real messages, which carry the
/// server endpoint, the client name (the machine's host name by default) and counters, through HealthKit's Redis check.
/// </summary>
[Collection("redis")]
public sealed class RedisRedactionTests(RedisServer redis, ITestOutputHelper log)
{
    private const string Password = "redis-Secr3t-42ab";

    [Fact]
    public async Task Output_RedisFrozenThenStopped_MessageOnlyWithoutPasswordEndpointOrMachineName()
    {
        var outputs = new List<string>();
        try
        {
            await redis.ExecuteAsync(TimeSpan.FromSeconds(5), "CONFIG", "SET", "requirepass", Password);

            // Timeouts shorter than the check's deadline, so the client's own timeout message is what the check reports.
            var configuration = $"{redis.Configuration},password={Password},syncTimeout=1000,asyncTimeout=1000,connectTimeout=1000";
            await using var app = await DetailsApp.StartWithLoopbackAsync(
                checks: _ => { },
                configureBuilder: builder => builder.Services.AddStackExchangeRedisCache(o => o.Configuration = configuration),
                configuration: new Dictionary<string, string?>
                {
                    ["DeployHealth:AutoDiscover"] = "true",
                    ["DeployHealth:CacheDuration"] = "00:00:00",
                    ["DeployHealth:Checks:redis:Deadline"] = "00:00:04",
                });
            await DetailsApp.WaitForCheckAsync(app, "redis", "pass", TimeSpan.FromSeconds(10));

            redis.Freeze();
            try
            {
                var frozen = await DetailsApp.WaitForCheckAsync(app, "redis", "fail", TimeSpan.FromSeconds(15));
                outputs.Add(frozen.Output!);
                outputs.Add((await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", "status.example")).Body);
            }
            finally
            {
                redis.Thaw();
            }

            await DetailsApp.WaitForCheckAsync(app, "redis", "pass", TimeSpan.FromSeconds(15));
            await redis.StopAsync();
            var down = await DetailsApp.WaitForCheckAsync(app, "redis", "fail", TimeSpan.FromSeconds(15));
            outputs.Add(down.Output!);
        }
        finally
        {
            // A restart also clears requirepass: the server comes back as the other tests expect it.
            await redis.StopAsync();
            await redis.StartAsync();
        }

        foreach (var output in outputs)
        {
            log.WriteLine(output);
            Assert.False(string.IsNullOrWhiteSpace(output));
            Assert.DoesNotContain(Password, output);
            Assert.DoesNotContain("127.0.0.1", output);
            Assert.DoesNotContain(redis.Port.ToString(CultureInfo.InvariantCulture), output);
            Assert.DoesNotContain(Environment.MachineName + "(", output);
            Assert.DoesNotContain("Exception", output);
            Assert.DoesNotContain(" at StackExchange", output);
        }
    }
}

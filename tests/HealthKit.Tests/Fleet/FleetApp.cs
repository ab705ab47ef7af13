// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace HealthKit.Tests.Fleet;

/// <summary>
/// One instance of the fleet tests' application on real Kestrel: PostgreSQL through an NpgsqlDataSource and Redis
/// through a registered IConnectionMultiplexer (both discovered, Shared), Data Protection keys in a directory
/// (shared by the instances that are given the same one), a page that needs no database (<c>/static</c>), details
/// for every caller, background evaluation so a probe never waits for a dependency.
/// </summary>
public static class FleetApp
{
    public const string ApplicationName = "healthkit-fleet-tests";

    public static async Task<KestrelApp> StartAsync(
        string fleet,
        string postgres,
        int redisPort,
        DirectoryInfo keys,
        bool fleetView = true,
        IDictionary<string, string?>? configuration = null,
        Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DeployHealth:Fleet:Enabled"] = fleetView ? "true" : "false",
            ["DeployHealth:Fleet:Name"] = fleet,
            ["DeployHealth:Fleet:Interval"] = "00:00:00.300",
            ["DeployHealth:BackgroundEvaluation"] = "true",
            ["DeployHealth:CacheDuration"] = "00:00:01",
            ["DeployHealth:DetailsPolicy"] = "fleet-tests-details",
        };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddNpgsqlDataSource(postgres);
                builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(new ConfigurationOptions
                {
                    EndPoints = { { "127.0.0.1", redisPort } },
                    AbortOnConnectFail = false,
                    ConnectTimeout = 1000,
                    SyncTimeout = 1000,
                    AsyncTimeout = 1000,
                }));
                builder.Services.AddDataProtection().PersistKeysToFileSystem(keys).SetApplicationName(ApplicationName);
                // Details for every caller of these tests: the documents are what the assertions read.
                builder.Services.AddAuthentication();
                builder.Services.AddAuthorization(o => o.AddPolicy("fleet-tests-details", p => p.RequireAssertion(_ => true)));
                services?.Invoke(builder.Services);
                builder.Services.AddDeployHealth();
            },
            app =>
            {
                app.MapGet("/static", () => Results.Text("a page that needs no database"));

                // The key ring exists before the fleet's first exchange: the instance that protects first in an
                // empty directory creates the key the others then read.
                app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("fleet-tests").Protect("warm");
            },
            settings);
    }

    /// <summary>The instance's readiness as a probe without Host (HAProxy's httpchk) gets it: its status code.</summary>
    public static async Task<int> ReadinessAsync(KestrelApp app) =>
        (await RawHttp.GetAsync(app.Address, "/health", "localhost")).Status;

    /// <summary>The full health+json document (details are on for loopback callers).</summary>
    public static async Task<string> DocumentAsync(KestrelApp app) =>
        (await RawHttp.GetAsync(app.Address, "/health", "localhost", extraHeaders: "Accept: application/health+json\r\n")).Body;

    /// <summary>
    /// HAProxy with one frontend per backend (<c>option httpchk GET /health</c>, <c>inter 500 fall 2 rise 2</c> and
    /// <c>timeout check 3s</c>, the check of samples/deploy/haproxy.cfg, what users copy): the first
    /// backend's frontend on HAProxy's own port, the others on ports of their own, returned by backend name.
    /// </summary>
    public static async Task<(HaproxyServer Haproxy, Dictionary<string, Uri> Frontends)> StartHaproxyAsync(params (string Name, IReadOnlyList<KestrelApp> Instances)[] backends)
    {
        var extraPorts = new int[backends.Length];
        for (var b = 1; b < backends.Length; b++)
        {
            extraPorts[b] = ServerHost.GetFreePort();
        }

        var haproxy = await HaproxyServer.StartAsync((port, socket) =>
        {
            var config = new System.Text.StringBuilder()
                .Append("global\n    stats socket ").Append(socket).Append(" level admin\n")
                .Append("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 3s\n");
            for (var b = 0; b < backends.Length; b++)
            {
                var (name, instances) = backends[b];
                config.Append("frontend fe_").Append(name).Append("\n    bind 127.0.0.1:").Append((b == 0 ? port : extraPorts[b]).ToString(CultureInfo.InvariantCulture))
                    .Append("\n    default_backend ").Append(name).Append('\n')
                    .Append("backend ").Append(name).Append("\n    option httpchk GET /health\n    default-server inter 500 fall 2 rise 2\n");
                for (var i = 0; i < instances.Count; i++)
                {
                    config.Append("    server s").Append(i.ToString(CultureInfo.InvariantCulture)).Append(" 127.0.0.1:")
                        .Append(instances[i].Address.Port.ToString(CultureInfo.InvariantCulture)).Append(" check\n");
                }
            }

            return config.ToString();
        });
        var frontends = new Dictionary<string, Uri>();
        for (var b = 0; b < backends.Length; b++)
        {
            frontends[backends[b].Name] = b == 0 ? haproxy.Address : new Uri($"http://127.0.0.1:{extraPorts[b]}/");
        }

        return (haproxy, frontends);
    }
}

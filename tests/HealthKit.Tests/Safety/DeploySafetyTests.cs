// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Tests.Safety;

/// <summary>What breaks only with several instances behind a balancer, each with a real setup.</summary>
public sealed class DeploySafetyTests : IDisposable
{
    private readonly DirectoryInfo _shared = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "keys-" + Guid.NewGuid().ToString("N")));

    public void Dispose() => _shared.Delete(recursive: true);

    private static async Task<HealthReportEntry> EntryAsync(KestrelApp app, string name) =>
        (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report.Entries[name];

    private static Task<KestrelApp> StartWithKeysAsync(Action<IDataProtectionBuilder> keys, string environment = "Production") =>
        KestrelApp.StartAsync(
            builder =>
            {
                keys(builder.Services.AddDataProtection());
                builder.Services.AddDeployHealth();
            },
            environment: environment);

    [Fact]
    public async Task DataProtection_TwoInstancesShareKeysAndName_CookieCrossesOver_Healthy()
    {
        await using var one = await StartWithKeysAsync(k => k.SetApplicationName("shop").PersistKeysToFileSystem(_shared));
        await using var two = await StartWithKeysAsync(k => k.SetApplicationName("shop").PersistKeysToFileSystem(_shared));

        var cookie = one.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookie").Protect("user-42");
        var read = two.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookie").Unprotect(cookie);

        Assert.Equal("user-42", read);
        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(one, "data_protection")).Status);
        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(two, "data_protection")).Status);
    }

    [Fact]
    public async Task DataProtection_OneHostPersistedKeysNoName_PassWithAdvice()
    {
        // Tried: keys in a local directory, no application name, not in a container. Nothing says keys will be lost
        // or that another instance exists, so this is a pass; what a second instance will need is advice.
        var local = Directory.CreateTempSubdirectory("healthkit-keys-");
        try
        {
            await using var app = await StartWithKeysAsync(k => k.PersistKeysToFileSystem(local));

            var entry = await EntryAsync(app, "data_protection");

            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Contains("SetApplicationName", entry.Description);
            Assert.Equal("""{"status":"pass"}""", (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Body);
        }
        finally
        {
            local.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DataProtection_EphemeralProvider_DegradedKeysOnlyInMemory()
    {
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
            builder.Services.AddDeployHealth();
        });

        var entry = await EntryAsync(app, "data_protection");
        var report = await app.WaitForLogAsync("StartupReport");

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("only in memory", entry.Description);
        Assert.Contains("only in memory", report.Message);
        Assert.Equal("""{"status":"warn"}""", (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Body);
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    [InlineData(false, true, false)]
    public void FindSharingProblem_DefaultStore_EvidenceOnlyInAContainerOrWithoutAProfile(bool inContainer, bool hasProfile, bool degraded)
    {
        using var provider = new ServiceCollection().AddDataProtection().Services.BuildServiceProvider();
        var problem = HealthKit.Safety.DataProtectionHealthCheck.FindSharingProblem(
            provider.GetRequiredService<IDataProtectionProvider>(), new Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions(), inContainer, hasProfile);

        Assert.Equal(degraded, problem is not null);
    }

    [Fact]
    public void MountPointOf_PicksTheLongestCoveringMount_SoAVolumeIsNotContainerLocal()
    {
        var info = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(info,
            [
                "22 1 0:21 / / rw,relatime - overlay overlay rw",
                "23 22 0:22 / /keys rw,relatime - nfs4 server:/export rw",
                "24 22 0:23 / /keystore rw,relatime - tmpfs tmpfs rw",
            ]);

            Assert.Equal("/keys", HealthKit.Safety.DataProtectionHealthCheck.MountPointOf("/keys/app", info));
            Assert.Equal("/", HealthKit.Safety.DataProtectionHealthCheck.MountPointOf("/app/keys", info));
            Assert.Equal("/keystore", HealthKit.Safety.DataProtectionHealthCheck.MountPointOf("/keystore", info));
        }
        finally
        {
            File.Delete(info);
        }
    }

    [Fact]
    public async Task DataProtection_FreshAppDefaults_PassAndAdviceOnceInStartupReport()
    {
        // What a fresh webapp, mvc or blazor app has on one host in Production: the default store (the user profile)
        // and no application name. It used to report warn forever.
        await using var app = await StartWithKeysAsync(_ => { });

        var entry = await EntryAsync(app, "data_protection");
        var advice = await app.WaitForLogAsync("DataProtectionAdvice");
        var report = await app.WaitForLogAsync("StartupReport");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains("SetApplicationName", advice.Message);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, advice.Level);
        Assert.DoesNotContain("Data Protection", report.Message);
        Assert.Equal("""{"status":"pass"}""", (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Body);
    }

    [Fact]
    public async Task DataProtection_InDevelopment_OnlyTheRoundTripCounts()
    {
        await using var app = await StartWithKeysAsync(_ => { }, environment: "Development");

        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(app, "data_protection")).Status);
    }

    [Theory]
    [InlineData("Production", HealthStatus.Degraded)]
    [InlineData("Development", HealthStatus.Healthy)]
    public async Task Sessions_InMemoryCache_DegradedOutsideDevelopment(string environment, HealthStatus expected)
    {
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddDistributedMemoryCache();
                builder.Services.AddSession();
                builder.Services.AddDeployHealth();
            },
            app => app.UseSession(),
            environment: environment);

        var entry = await EntryAsync(app, "sessions");

        Assert.Equal(expected, entry.Status);
        if (expected == HealthStatus.Degraded)
        {
            Assert.Contains("Sessions are per instance", entry.Description);
        }
    }

    private static Task<KestrelApp> StartForwardedAppAsync(bool trusted) =>
        KestrelApp.StartAsync(
            builder =>
            {
                // nginx on this host is the app's declared proxy; untrusted, the app forgot the flags (the default, None).
                builder.Services.Configure<ForwardedHeadersOptions>(o =>
                {
                    o.ForwardedHeaders = trusted ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto : ForwardedHeaders.None;
                    o.KnownProxies.Add(IPAddress.Loopback);
                });
                builder.Services.AddDeployHealth();
            },
            app =>
            {
                app.UseForwardedHeaders();
                app.MapGet("/", (Microsoft.AspNetCore.Http.HttpContext c) => c.Request.Scheme);
            });

    // nginx speaks HTTP/1.0 to its upstream without keepalive, so each request comes over a connection of its own,
    // as a balancer's requests come over several.
    private static Task<NginxServer> StartTlsTerminatingNginxAsync(KestrelApp app) =>
        NginxServer.StartAsync(port => $$"""
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    proxy_pass {{app.Address.ToString().TrimEnd('/')}};
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto https;
                }
            }
            """);

    private static int ForwardedWarnings(KestrelApp app) => app.Logs.GetSnapshot().Count(r => r.Id.Name == "ForwardedHeadersNotApplied");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ForwardedHeaders_ThroughRealNginx_UntrustedWarnsOnceAndDegrades_TrustedStaysHealthy(bool trusted)
    {
        await using var app = await StartForwardedAppAsync(trusted);
        await using var nginx = await StartTlsTerminatingNginxAsync(app);

        for (var i = 0; i < 8; i++)
        {
            var response = await RawHttp.GetAsync(nginx.Address, "/", "localhost");
            Assert.Equal(trusted ? "https" : "http", response.Body);
        }

        var entry = await EntryAsync(app, "forwarded_headers");
        if (trusted)
        {
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(0, ForwardedWarnings(app));
        }
        else
        {
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("127.0.0.1", entry.Description);
            Assert.Contains("KnownProxies", entry.Description);
            Assert.Equal(1, ForwardedWarnings(app));
        }
    }

    [Fact]
    public async Task ForwardedHeaders_OneDirectRequestWithForwardedProto_StaysHealthy()
    {
        // Tried: the first attack on the wire, one request with X-Forwarded-Proto to an app that does not
        // apply it (it used to make forwarded_headers Degraded until restart and trip the alert on check status).
        await using var app = await StartForwardedAppAsync(trusted: false);

        var response = await RawHttp.GetAsync(app.Address, "/", "localhost", extraHeaders: "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.7\r\n");

        Assert.Equal("http", response.Body);
        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(app, "forwarded_headers")).Status);
        Assert.Equal(0, ForwardedWarnings(app));
    }

    [Fact]
    public async Task ForwardedHeaders_SixSpoofedAnonymousRequests_EachOnItsOwnConnection_StaysHealthy()
    {
        // Tried: the attack where client traffic reaches the app from loopback (a same-host proxy that passes
        // headers through, a SNAT'd balancer): 6 requests with X-Forwarded-For, each on a connection of its own, to an
        // app that declares no proxy. It used to make forwarded_headers Degraded for 15 minutes with a Warning.
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app => app.MapGet("/", () => "home"));

        for (var i = 0; i < 6; i++)
        {
            var response = await RawHttp.GetAsync(app.Address, "/", "localhost", extraHeaders: "X-Forwarded-For: 203.0.113.9\r\n");
            Assert.Equal(200, response.Status);
        }

        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(app, "forwarded_headers")).Status);
        Assert.Equal(0, ForwardedWarnings(app));
        Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "ForwardedHeadersFromUndeclaredPeer");
    }

    [Fact]
    public async Task ForwardedHeaders_ForgedOriginalForFirst_ThenUntrustedNginx_StillDegraded()
    {
        // Tried: the second attack, a first request with X-Original-For (as if ForwardedHeadersMiddleware had
        // applied its headers), which used to end the watch; then the real misconfiguration behind nginx.
        await using var app = await StartForwardedAppAsync(trusted: false);
        await using var nginx = await StartTlsTerminatingNginxAsync(app);

        await RawHttp.GetAsync(app.Address, "/", "localhost", extraHeaders: "X-Forwarded-For: 203.0.113.7\r\nX-Original-For: 10.0.0.1:5000\r\n");
        for (var i = 0; i < 8; i++)
        {
            await RawHttp.GetAsync(nginx.Address, "/", "localhost");
        }

        var entry = await EntryAsync(app, "forwarded_headers");
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal(1, ForwardedWarnings(app));
    }

    public static TheoryData<int, int, HealthStatus, string> Certificates => new()
    {
        { -30, 3, HealthStatus.Degraded, "expires in 3 days" },
        { -30, 90, HealthStatus.Healthy, "valid for more than 14 days" },
        { -30, -1, HealthStatus.Unhealthy, "expired at" },
        { 2, 90, HealthStatus.Unhealthy, "is not valid before" },
    };

    [Theory]
    [MemberData(nameof(Certificates))]
    public async Task Certificates_KestrelHttpsEndpoint_JudgedByExpiry(int notBeforeDays, int notAfterDays, HealthStatus expected, string text)
    {
        using var certificate = MakeCertificate(DateTimeOffset.UtcNow.AddDays(notBeforeDays), DateTimeOffset.UtcNow.AddDays(notAfterDays).AddHours(1));
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.Listen(IPAddress.Loopback, 0);
                k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate));
            });
            builder.Services.AddDeployHealth();
        });

        var entry = await EntryAsync(app, "certificates");

        Assert.Equal(expected, entry.Status);
        Assert.Contains(text, entry.Description);
    }

    [Fact]
    public async Task BackgroundServices_OneThrowsAfterStart_UnhealthyNamingIt()
    {
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
            builder.Services.AddHostedService<OutboxWorker>();
            builder.Services.AddHostedService<SteadyWorker>();
            builder.Services.AddDeployHealth();
        });

        var entry = await EntryAsync(app, "background_services");
        for (var i = 0; i < 50 && entry.Status == HealthStatus.Healthy; i++)
        {
            await Task.Delay(100);
            entry = await EntryAsync(app, "background_services");
        }

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("OutboxWorker failed: queue connection lost", entry.Description);
        Assert.DoesNotContain("SteadyWorker", entry.Description);
        Assert.Equal(503, (await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Status);
    }

    [Fact]
    public async Task Heartbeat_WorkerStopsBeating_Unhealthy_BeatsAgain_Healthy()
    {
        // 3 s: a busy machine may pause the test between a beat and the evaluation after it, but not for that long.
        await using var app = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth().AddHeartbeat("outbox", TimeSpan.FromSeconds(3)));
        var heartbeat = app.Services.GetRequiredService<IHeartbeat>();

        heartbeat.Beat("outbox");
        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(app, "heartbeat_outbox")).Status);

        // Wait for the state (bounded), not for a fixed time.
        var stale = await EntryAsync(app, "heartbeat_outbox");
        for (var i = 0; i < 300 && stale.Status == HealthStatus.Healthy; i++)
        {
            await Task.Delay(100);
            stale = await EntryAsync(app, "heartbeat_outbox");
        }

        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
        Assert.Contains("'outbox' has not beaten for", stale.Description);

        heartbeat.Beat("outbox");
        Assert.Equal(HealthStatus.Healthy, (await EntryAsync(app, "heartbeat_outbox")).Status);
        Assert.Throws<ArgumentException>(() => heartbeat.Beat(" "));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddDeployHealth().AddHeartbeat("x", TimeSpan.Zero));
    }

    private static X509Certificate2 MakeCertificate(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=shop.example.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var made = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
    }

    private sealed class OutboxWorker : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(100, stoppingToken);
            throw new InvalidOperationException("queue connection lost");
        }
    }

    private sealed class SteadyWorker : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken);
    }
}

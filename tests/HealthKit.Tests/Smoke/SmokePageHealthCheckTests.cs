// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Claims;
using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Smoke;

/// <summary>Smoke renders through the hardened pipeline of a real app on Kestrel.</summary>
public sealed class SmokePageHealthCheckTests
{
    private const string IpHost = "10.0.3.7:8080";

    private static ClaimsPrincipal Operator(IServiceProvider _) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "smoke")], "HealthKit-Smoke"));

    private static Task<KestrelApp> StartAsync(Action<DeployHealthBuilder> pages, Action<WebApplication> endpoints, Action<IServiceCollection>? services = null) =>
        KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication("Cookies").AddCookie("Cookies");
                builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
                services?.Invoke(builder.Services);
                pages(builder.Services.AddDeployHealth(o =>
                {
                    o.CacheDuration = TimeSpan.Zero;

                    // A render in every evaluation rather than once per a page's 30 s interval: these tests render again and again.
                    o.Checks["smoke /scoped"] = new DeployHealthCheckOptions { Interval = TimeSpan.FromTicks(1) };
                }));
            },
            app =>
            {
                app.UseHsts();
                app.UseHttpsRedirection();
                app.UseAuthentication();
                app.UseAuthorization();
                endpoints(app);
            },
            new Dictionary<string, string?> { ["AllowedHosts"] = "*.internal.example;shop.example.com", ["https_port"] = "443" });

    private static async Task<(RawResponse Probe, HealthReportEntry Entry)> ProbeAsync(KestrelApp app, string name)
    {
        var probe = await RawHttp.GetAsync(app.Address, "/health", IpHost);
        var report = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report;
        return (probe, report.Entries[name]);
    }

    [Fact]
    public async Task Render_ProtectedPageWithPrincipal_PassesHostFilteringHttpsAndAuthorization()
    {
        await using var app = await StartAsync(
            h => h.AddSmokePage("/orders", p => { p.Principal = Operator; p.ExpectedText = "orders for smoke"; }),
            a => a.MapGet("/orders", (HttpContext c) => $"orders for {c.User.Identity!.Name} on {c.Request.Host} via {c.Request.Scheme}"));

        var (probe, entry) = await ProbeAsync(app, "smoke /orders");

        Assert.Equal(200, probe.Status);
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.StartsWith("GET /orders → 200", entry.Description);
    }

    [Fact]
    public async Task Render_ProtectedPageWithoutPrincipal_RedirectToLoginFails()
    {
        await using var app = await StartAsync(h => h.AddSmokePage("/orders"), a => a.MapGet("/orders", () => "orders"));

        var (probe, entry) = await ProbeAsync(app, "smoke /orders");

        Assert.Equal(503, probe.Status);
        Assert.Equal("""{"status":"fail"}""", probe.Body);
        Assert.Contains("→ 302", entry.Description);
        Assert.Contains("/Account/Login", entry.Description);
    }

    [Fact]
    public async Task Render_RedirectExpected_Passes()
    {
        await using var app = await StartAsync(
            h => h.AddSmokePage("/old", p => { p.ExpectedStatus = 301; p.Principal = Operator; }),
            a => a.MapGet("/old", () => Results.Redirect("/new", permanent: true)));

        Assert.Equal(HealthStatus.Healthy, (await ProbeAsync(app, "smoke /old")).Entry.Status);
    }

    [Fact]
    public async Task Render_PageWritesThenThrows_FailsWithFirstLineOfException()
    {
        await using var app = await StartAsync(
            h => h.AddSmokePage("/boom", p => p.Principal = Operator),
            a => a.MapGet("/boom", async (HttpContext c) =>
            {
                await c.Response.WriteAsync("<html>half a page");
                throw new InvalidOperationException("The view 'Index' was not found.\n   at Somewhere.Deep()");
            }));

        var (probe, entry) = await ProbeAsync(app, "smoke /boom");

        Assert.Equal(503, probe.Status);
        Assert.Equal("GET /boom → 200, threw InvalidOperationException: The view 'Index' was not found.", entry.Description);
        Assert.DoesNotContain("Somewhere", probe.Body);
    }

    [Fact]
    public async Task Render_PageHangsHonouringRequestAborted_CancelledAtTimeout_ProbeAnswers()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(
            h => h.AddSmokePage("/slow", p => { p.Principal = Operator; p.Timeout = TimeSpan.FromMilliseconds(300); }),
            a => a.MapGet("/slow", async (HttpContext c) =>
            {
                c.RequestAborted.Register(() => aborted.TrySetResult());
                await Task.Delay(Timeout.Infinite, c.RequestAborted);
            }));

        var (probe, entry) = await ProbeAsync(app, "smoke /slow");

        Assert.Equal(503, probe.Status);

        // The render's own timeout, or on a loaded machine the evaluator's deadline just after it: a timeout either way.
        Assert.Matches("^(GET /slow (did not finish within 300 ms; the request was aborted|is still running)|Timed out after)", entry.Description);
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Render_PageSlowToHonourAbort_EvaluationJoiningIt_ReadsTimeoutNotPagesReaction()
    {
        // Tried: the first evaluation aborts the page at its timeout; the page takes 200 ms more to throw
        // TaskCanceledException; a second evaluation joins that render while it winds down.
        await using var app = await StartAsync(
            h => h.AddSmokePage("/slow", p => { p.Principal = Operator; p.Timeout = TimeSpan.FromMilliseconds(300); }),
            a => a.MapGet("/slow", async (HttpContext c) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, c.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    await Task.Delay(200, CancellationToken.None);
                    throw;
                }
            }));
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        var first = (await evaluator.EvaluateNowAsync()).Report.Entries["smoke /slow"];
        var second = (await evaluator.EvaluateNowAsync()).Report.Entries["smoke /slow"];

        // Either timeout is the finding (the render's own, or the evaluator's deadline when a loaded machine delays
        // the render's); the page's reaction to being aborted never is.
        foreach (var entry in new[] { first, second })
        {
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Matches("^(GET /slow (did not finish|is still running)|Timed out after)", entry.Description);
            Assert.DoesNotContain("TaskCanceledException", entry.Description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Render_PageIgnoresCancellation_ProbeStillAnswers_AndRenderNotStackedUp()
    {
        var renders = 0;
        using var release = new SemaphoreSlim(0);
        await using var app = await StartAsync(
            h => h.AddSmokePage("/stuck", p => { p.Principal = Operator; p.Timeout = TimeSpan.FromMilliseconds(200); }),
            a => a.MapGet("/stuck", async () =>
            {
                Interlocked.Increment(ref renders);
                await release.WaitAsync(TimeSpan.FromSeconds(30));
                return "late";
            }));

        try
        {
            for (var i = 0; i < 4; i++)
            {
                var probe = await RawHttp.GetAsync(app.Address, "/health", IpHost);
                Assert.Equal(503, probe.Status);
            }

            Assert.Equal(1, renders);
        }
        finally
        {
            release.Release(10);
        }
    }

    [Fact]
    public async Task Render_RequestScope_IsDisposedAfterEachRender_NoLeakOver1000Renders()
    {
        var tracker = new DisposalTracker();
        await using var app = await StartAsync(
            h => h.AddSmokePage("/scoped", p => p.Principal = Operator),
            a => a.MapGet("/scoped", (ScopedThing thing) => thing.Hello()),
            s => s.AddSingleton(tracker).AddScoped<ScopedThing>());
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(HealthStatus.Healthy, (await evaluator.EvaluateNowAsync()).Report.Entries["smoke /scoped"].Status);
        }

        Assert.True(tracker.Created >= 1000);
        Assert.Equal(tracker.Created, tracker.Disposed);
    }

    [Fact]
    public async Task Render_HttpContextAccessor_SeesTheRenderedRequest()
    {
        await using var app = await StartAsync(
            h => h.AddSmokePage("/accessor?x=1", p => { p.Principal = Operator; p.ExpectedText = "path=/accessor query=?x=1 host=shop.example.com remote=127.0.0.1"; }),
            a => a.MapGet("/accessor", (IHttpContextAccessor accessor) =>
            {
                var c = accessor.HttpContext!;
                return $"path={c.Request.Path} query={c.Request.QueryString} host={c.Request.Host} remote={c.Connection.RemoteIpAddress}";
            }),
            s => s.AddHttpContextAccessor());

        var (_, entry) = await ProbeAsync(app, "smoke /accessor?x=1");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
    }

    [Fact]
    public async Task Render_RunFromAnAppRequest_DoesNotWipeThatRequestsHttpContextAccessor()
    {
        // The framework's own HealthCheckService runs registrations inline, in the calling request's ExecutionContext.
        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddHttpContextAccessor();
                builder.Services.AddDeployHealth().AddSmokePage("/");
            },
            app =>
            {
                app.MapGet("/", () => "home");
                app.MapGet("/admin/health", async (HealthCheckService checks, IHttpContextAccessor accessor, HttpContext context) =>
                {
                    var report = await checks.CheckHealthAsync();
                    return $"{report.Status} {(ReferenceEquals(accessor.HttpContext, context) ? "same-context" : "wiped")}";
                });
            });

        var response = await RawHttp.GetAsync(app.Address, "/admin/health", "localhost");

        Assert.Equal("Healthy same-context", response.Body);
    }

    [Fact]
    public async Task Render_HugePage_BodyKeptToBoundedBuffer_TextBeyondItNotFound()
    {
        var chunk = new string('x', 64 * 1024);
        await using var app = await StartAsync(
            h => h.AddSmokePage("/huge", p => { p.Principal = Operator; p.ExpectedText = "THE-END"; }),
            a => a.MapGet("/huge", async (HttpContext c) =>
            {
                for (var i = 0; i < 80; i++)
                {
                    await c.Response.WriteAsync(chunk);
                }

                await c.Response.WriteAsync("THE-END");
            }));

        var (_, entry) = await ProbeAsync(app, "smoke /huge");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("does not contain the expected text", entry.Description);
        Assert.Equal(80L * 64 * 1024 + 7, (long)entry.Data["bytes"]);
    }

    [Fact]
    public async Task OutsideRequest_CannotRunAsTheSmokePrincipal()
    {
        await using var app = await StartAsync(
            h => h.AddSmokePage("/orders", p => p.Principal = Operator),
            a => a.MapGet("/orders", () => "orders"));

        var response = await RawHttp.GetAsync(
            app.Address,
            "/orders?user=smoke",
            "shop.example.com",
            extraHeaders: "X-Forwarded-Proto: https\r\nUser-Agent: HealthKit-Smoke/1.0\r\nAuthorization: HealthKit-Smoke smoke\r\nCookie: smoke=1\r\n");

        Assert.NotEqual(200, response.Status);
    }

    [Fact]
    public async Task Configuration_SmokePages_RegistersEachWithDefaults()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app =>
            {
                app.MapGet("/", () => "home");
                app.MapGet("/Privacy", () => Results.StatusCode(500));
            },
            new Dictionary<string, string?> { ["DeployHealth:SmokePages:0"] = "/", ["DeployHealth:SmokePages:1"] = "/Privacy" });

        var report = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report;

        Assert.Equal(HealthStatus.Healthy, report.Entries["smoke /"].Status);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["smoke /Privacy"].Status);
        Assert.Contains("→ 500", report.Entries["smoke /Privacy"].Description);
    }

    [Fact]
    public void AddSmokePage_BadPath_Throws()
    {
        var health = new ServiceCollection().AddDeployHealth();

        Assert.Throws<ArgumentException>(() => health.AddSmokePage("Privacy"));
        Assert.Throws<ArgumentException>(() => health.AddSmokePage("//evil.example/"));
        Assert.Throws<ArgumentException>(() => health.AddSmokePage(" "));
        Assert.Throws<ArgumentException>(() => health.AddSmokePage("/x", p => p.Timeout = TimeSpan.Zero));
    }

    public sealed class DisposalTracker
    {
        private int _created;
        private int _disposed;

        public int Created => Volatile.Read(ref _created);

        public int Disposed => Volatile.Read(ref _disposed);

        public void OnCreated() => Interlocked.Increment(ref _created);

        public void OnDisposed() => Interlocked.Increment(ref _disposed);
    }

    public sealed class ScopedThing : IDisposable
    {
        private readonly DisposalTracker _tracker;

        public ScopedThing(DisposalTracker tracker)
        {
            _tracker = tracker;
            tracker.OnCreated();
        }

        public string Hello() => "hello";

        public void Dispose() => _tracker.OnDisposed();
    }
}

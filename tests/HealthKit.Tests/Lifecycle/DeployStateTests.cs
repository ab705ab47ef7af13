// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// Manual drain through <see cref="IDrainSwitch"/>, on real Kestrel: only readiness changes, everything else is
/// still served, and no HTTP request of any kind can drain the instance.
/// </summary>
public sealed class DeployStateTests
{
    [Fact]
    public async Task Drain_ThenResume_OnlyReadinessFailsMeanwhile()
    {
        await using var app = await LifecycleApp.StartAsync();
        var health = app.Services.GetRequiredService<IDrainSwitch>();
        Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health")).Status);

        health.Drain();

        Assert.True(health.IsDraining);
        var ready = await LifecycleApp.GetAsync(app, "/health");
        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"fail"}""", ready.Body);
        Assert.Equal(503, (await LifecycleApp.GetAsync(app, "/health/ready")).Status);
        Assert.Equal(503, (await LifecycleApp.GetAsync(app, "/health/", method: "HEAD")).Status);
        Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health/live")).Status);
        var page = await LifecycleApp.GetAsync(app, "/");
        Assert.Equal(200, page.Status);
        Assert.Equal("app", page.Body);

        health.Resume();

        Assert.False(health.IsDraining);
        var resumed = await LifecycleApp.GetAsync(app, "/health");
        Assert.Equal(200, resumed.Status);
        Assert.Equal("""{"status":"pass"}""", resumed.Body);
    }

    [Fact]
    public async Task HttpRequest_AnyMethodPathOrHeader_NeverDrains()
    {
        (string Method, string Path, string Headers)[] attempts =
        [
            ("POST", "/health", string.Empty),
            ("PUT", "/health", "Content-Length: 0\r\n"),
            ("DELETE", "/health", string.Empty),
            ("PATCH", "/health/ready", string.Empty),
            ("OPTIONS", "/health", string.Empty),
            ("DRAIN", "/health", string.Empty),
            ("POST", "/health/drain", "Content-Length: 0\r\n"),
            ("GET", "/health/drain", string.Empty),
            ("POST", "/health/ready/drain", string.Empty),
            ("GET", "/health/maintenance", string.Empty),
            ("GET", "/health?drain=true", string.Empty),
            ("GET", "/health/live?state=drain&maintenance=1", string.Empty),
            ("GET", "/health", "X-Drain: true\r\nX-Maintenance: on\r\n"),
            ("HEAD", "/health/ready?drain", "X-HAProxy-Agent: drain\r\n"),
        ];
        await using var app = await LifecycleApp.StartAsync();
        var health = app.Services.GetRequiredService<IDrainSwitch>();

        foreach (var (method, path, headers) in attempts)
        {
            var attempt = await LifecycleApp.GetAsync(app, path, method, headers);

            Assert.False(health.IsDraining, $"{method} {path} drained the instance; it answered {attempt}");
            Assert.Equal(200, (await LifecycleApp.GetAsync(app, "/health")).Status);
        }
    }
}

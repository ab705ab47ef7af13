// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Registry;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Resources;

/// <summary>The resource checks in a running app: registered on their own, readiness only, the directories they find.</summary>
public sealed class ResourceChecksTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("healthkit-resources-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task PlainApp_ResourceChecksPassInReadinessNeverInLiveness()
    {
        await using var app = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth());

        var report = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report;
        var registry = app.Services.GetRequiredService<HealthKitRegistry>();

        Assert.Equal(HealthStatus.Healthy, report.Entries["memory"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["disk"].Status);
        Assert.Contains("temp (", report.Entries["disk"].Description);
        Assert.Equal(HealthStatus.Healthy, report.Entries["file_descriptors"].Status);
        Assert.DoesNotContain(registry.Liveness, r => r.Tags.Contains("resources"));
        Assert.Equal("""{"status":"pass"}""", (await RawHttp.GetAsync(app.Address, "/health", "localhost")).Body);
        Assert.DoesNotContain(app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == "memory");
    }

    [Fact]
    public async Task KeyRingAndSqlite_DirectoriesWatched()
    {
        var keys = _root.CreateSubdirectory("keys");
        var data = _root.CreateSubdirectory("data");
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.AddDataProtection().PersistKeysToFileSystem(keys);
            builder.Services.AddDbContext<ResourceContext>(o => o.UseSqlite($"Data Source={Path.Combine(data.FullName, "shop.db")}"));
            builder.Services.AddDeployHealth();
        });

        var entry = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report.Entries["disk"];

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains($"Data Protection keys ({keys.FullName})", entry.Description);
        Assert.Contains($"SQLite ResourceContext ({data.FullName})", entry.Description);
    }

    [Fact]
    public async Task ReadOnlyConfiguredDirectory_DiskFails()
    {
        // A read-only bind of a directory onto itself: the root this runs as may write anywhere except a read-only mount.
        var readOnly = _root.CreateSubdirectory("ro");
        Assert.Equal(0, await RunAsync("mount", "--bind", readOnly.FullName, readOnly.FullName));
        try
        {
            Assert.Equal(0, await RunAsync("mount", "-o", "remount,bind,ro", readOnly.FullName));
            await using var app = await KestrelApp.StartAsync(
                builder => builder.Services.AddDeployHealth(),
                configuration: new Dictionary<string, string?> { ["DeployHealth:Resources:DiskPaths:0"] = readOnly.FullName });

            var entry = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report.Entries["disk"];

            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Contains("read-only file system", entry.Description);
        }
        finally
        {
            await RunAsync("umount", readOnly.FullName);
        }
    }

    [Fact]
    public async Task SwitchedOff_NotRegistered()
    {
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["DeployHealth:Checks:memory:Enabled"] = "false" });

        var report = (await app.Services.GetRequiredService<HealthEvaluator>().EvaluateNowAsync()).Report;

        Assert.False(report.Entries.ContainsKey("memory"));
        Assert.True(report.Entries.ContainsKey("disk"));
    }

    [Theory]
    [InlineData("DeployHealth:Resources:MemoryWarnPercent", "95", "DeployHealth:Resources:MemoryFailPercent (90) must not be below DeployHealth:Resources:MemoryWarnPercent (95)")]
    [InlineData("DeployHealth:Resources:FileDescriptorFailPercent", "0", "DeployHealth:Resources:FileDescriptorFailPercent must be from 1 to 100 (was 0)")]
    [InlineData("DeployHealth:Resources:DiskFailBytes", "-1", "DeployHealth:Resources:DiskFailBytes must not be negative (was -1)")]
    [InlineData("DeployHealth:Resources:DiskFailPercent", "20", "DeployHealth:Resources:DiskFailPercent (20) must not be above DeployHealth:Resources:DiskWarnPercent (10)")]
    [InlineData("DeployHealth:Resources:DiskWarnBytes", "lots", "DeployHealth:Resources:DiskWarnBytes")]
    public async Task InvalidThreshold_HostDoesNotStart(string key, string value, string message)
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(message, exception.Message);
    }

    private static async Task<int> RunAsync(string file, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>A context with no model: the directory of its SQLite file is what the disk check is asked to find.</summary>
    private sealed class ResourceContext(DbContextOptions<ResourceContext> options) : DbContext(options);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Resources;

/// <summary>
/// The resource checks against real limits, each on the app as its own process (tests/HealthKit.TestLimitsApp): a
/// cgroup memory limit the runtime reads at start, a small tmpfs under the key ring, an open-file limit lowered with
/// prlimit. Readiness is read as a balancer reads it, from <c>/health</c>, and each limit is undone at the end.
/// These need root (cgroups, mount, prlimit on another process), as the test machine runs.
/// </summary>
public sealed class ResourceLimitTests
{
    private static readonly Dictionary<string, string?> Evaluating = new()
    {
        // Every probe evaluates, so each step of the test reads what the checks see now; on a loaded machine a slow
        // evaluation must not read as failing (a deadline) or as starting (the warm-up).
        ["DeployHealth__CacheDuration"] = "00:00:00",
        ["DeployHealth__Drain__Delay"] = "00:00:00",
        ["DeployHealth__CheckDeadline"] = "00:00:10",
        ["DeployHealth__BalancerProbeTimeout"] = "00:00:20",
        ["DeployHealth__Startup__WarmUpLimit"] = "00:00:00",
    };

    [Fact]
    public async Task MemoryLimit_AppHoldsMoreAndMore_WarnThenFailBeforeItIsKilled()
    {
        using var group = MemoryGroup.Create(256L << 20);
        await using var app = SampleProcess.StartInCgroup(SampleProcess.AppPath("HealthKit.TestLimitsApp"), group.ProcsFile, Evaluating);
        await app.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };

        var seen = new List<string> { await WaitForPassAsync(client) };
        for (var held = 0; held < 256 && seen[^1] != "fail" && !app.HasExited; held += 4)
        {
            (await client.GetAsync("/hold?mb=4")).EnsureSuccessStatusCode();
            seen.Add(await ReadinessAsync(client));
        }

        Assert.Equal("pass", seen[0]);
        var firstWarn = seen.IndexOf("warn");
        var firstFail = seen.IndexOf("fail");
        Assert.True(firstWarn > 0 && firstFail > firstWarn, $"Readiness went {string.Join(", ", seen)}. Output:\n{app.Output}");
        Assert.False(app.HasExited, $"The app was killed before readiness failed. Output:\n{app.Output}");
        Assert.Equal("pass", await LivenessAsync(client));
    }

    [Fact]
    public async Task SmallTmpfsUnderKeyRing_FilledUp_WarnThenFailThenPassOnceFreed()
    {
        using var volume = Tmpfs.Mount(16L << 20);
        var keys = Directory.CreateDirectory(Path.Combine(volume.Path, "keys")).FullName;
        await using var app = SampleProcess.Start(new Dictionary<string, string?>(Evaluating) { ["KEYS_DIRECTORY"] = keys }, SampleProcess.AppPath("HealthKit.TestLimitsApp"));
        await app.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("pass", await WaitForPassAsync(client));

        // Defaults on a 16 MiB volume: warn below 10% free (1.6 MiB), fail below 2% (328 KiB).
        var filler = Path.Combine(volume.Path, "filler");
        FillUntilFree(filler, volume.Path, 1L << 20);
        var low = await ReadinessAsync(client);
        FillUntilFree(filler, volume.Path, 128L << 10);
        var full = await ReadinessAsync(client);
        File.Delete(filler);
        var freed = await ReadinessAsync(client);

        Assert.Equal(("warn", "fail", "pass"), (low, full, freed));
    }

    [Fact]
    public async Task OpenFileLimitLowered_AppOpensMore_WarnThenFail()
    {
        await using var app = SampleProcess.Start(Evaluating, SampleProcess.AppPath("HealthKit.TestLimitsApp"));
        await app.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("pass", await WaitForPassAsync(client));

        // A limit the app already uses 60% of, then open descriptors up to 85% (warn) and 95% (fail) of it.
        var open = Directory.GetFileSystemEntries($"/proc/{app.Id}/fd").Length;
        var limit = (int)Math.Ceiling(open / 0.6);
        Assert.Equal(0, await RunAsync("prlimit", $"--pid={app.Id}", $"--nofile={limit}:{limit}"));
        Assert.Equal("pass", await ReadinessAsync(client));

        await OpenUntilAsync(client, app.Id, (int)(limit * 0.85));
        var near = await ReadinessAsync(client);
        await OpenUntilAsync(client, app.Id, (int)(limit * 0.95));
        var over = await ReadinessAsync(client);

        Assert.Equal(("warn", "fail"), (near, over));
    }

    /// <summary>What a balancer reads from readiness: pass, warn, fail, or another body (starting, draining) as it is.</summary>
    private static async Task<string> ReadinessAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health");
        var text = await response.Content.ReadAsStringAsync();
        return text.Contains("\"fail\"", StringComparison.Ordinal) ? "fail"
            : text.Contains("\"warn\"", StringComparison.Ordinal) ? "warn"
            : text.Contains("\"pass\"", StringComparison.Ordinal) ? "pass"
            : text;
    }

    private static async Task<string> LivenessAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health/live");
        return await response.Content.ReadAsStringAsync() is var text && text.Contains("\"pass\"", StringComparison.Ordinal) ? "pass" : text;
    }

    /// <summary>Polls readiness until it passes (the start gate and the warm-up are behind it), within a bound.</summary>
    private static async Task<string> WaitForPassAsync(HttpClient client)
    {
        var start = Stopwatch.GetTimestamp();
        string seen;
        while ((seen = await ReadinessAsync(client)) != "pass" && Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        return seen;
    }

    private static async Task OpenUntilAsync(HttpClient client, int pid, int target)
    {
        var open = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        if (target > open)
        {
            (await client.GetAsync($"/open?count={target - open}")).EnsureSuccessStatusCode();
        }
    }

    private static void FillUntilFree(string file, string volume, long free)
    {
        var available = new DriveInfo(volume).AvailableFreeSpace;
        if (available <= free)
        {
            return;
        }

        using var stream = new FileStream(file, FileMode.Append);
        var block = new byte[64 << 10];
        for (var left = available - free; left > 0; left -= block.Length)
        {
            stream.Write(block, 0, (int)Math.Min(block.Length, left));
        }
    }

    private static async Task<int> RunAsync(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>A memory cgroup with a limit (v1 here, v2 where the machine has it), removed once its process is gone.</summary>
    private sealed class MemoryGroup : IDisposable
    {
        private readonly string _path;

        private MemoryGroup(string path, string procsFile)
        {
            _path = path;
            ProcsFile = procsFile;
        }

        public string ProcsFile { get; }

        public static MemoryGroup Create(long limit)
        {
            var name = "healthkit-" + Guid.NewGuid().ToString("N")[..12];
            var v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
            var path = v2 ? Path.Combine("/sys/fs/cgroup", name) : Path.Combine("/sys/fs/cgroup/memory", name);
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, v2 ? "memory.max" : "memory.limit_in_bytes"), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new MemoryGroup(path, Path.Combine(path, "cgroup.procs"));
        }

        public void Dispose()
        {
            // The app is stopped before this runs (disposed in reverse order); a group is removable once it is empty.
            var start = Stopwatch.GetTimestamp();
            while (true)
            {
                try
                {
                    Directory.Delete(_path);
                    return;
                }
                catch (IOException) when (Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(10))
                {
                    Thread.Sleep(100);
                }
            }
        }
    }

    /// <summary>A tmpfs of a given size on a new temp directory, unmounted and removed at the end.</summary>
    private sealed class Tmpfs : IDisposable
    {
        private Tmpfs(string path) => Path = path;

        public string Path { get; }

        public static Tmpfs Mount(long size)
        {
            var path = Directory.CreateTempSubdirectory("healthkit-tmpfs-").FullName;
            using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={size}", "tmpfs", path]) { RedirectStandardError = true })!;
            mount.WaitForExit();
            if (mount.ExitCode != 0)
            {
                Directory.Delete(path);
                throw new InvalidOperationException($"mount -t tmpfs failed: {mount.StandardError.ReadToEnd()}");
            }

            return new Tmpfs(path);
        }

        public void Dispose()
        {
            using var umount = Process.Start(new ProcessStartInfo("umount", [Path]) { RedirectStandardError = true })!;
            umount.WaitForExit();
            Directory.Delete(Path, recursive: true);
        }
    }
}

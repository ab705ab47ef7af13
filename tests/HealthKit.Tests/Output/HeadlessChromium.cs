// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Output;

/// <summary>
/// Debian's Chromium, headless, one process per page: <c>--dump-dom</c> for the DOM after load and <c>--screenshot</c>
/// for a PNG. Each run has a new profile directory, no network beyond the loopback URL it is given, and a deadline
/// after which its process tree is killed by PID.
/// </summary>
public static class HeadlessChromium
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    /// <summary>The DOM of <paramref name="url"/> once loaded, serialized.</summary>
    public static async Task<string> DumpDomAsync(Uri url)
    {
        var (exitCode, output, errors) = await RunAsync(["--dump-dom", url.AbsoluteUri]);
        return exitCode == 0 && output.Length > 0
            ? output
            : throw new InvalidOperationException($"chromium --dump-dom exited with {exitCode}:\n{errors}");
    }

    /// <summary>Takes a screenshot of <paramref name="url"/> in a window of the given size into <paramref name="file"/>.</summary>
    public static async Task ScreenshotAsync(Uri url, int width, int height, string file)
    {
        var (exitCode, _, errors) = await RunAsync([$"--screenshot={file}", $"--window-size={width},{height}", "--hide-scrollbars", url.AbsoluteUri]);
        if (exitCode != 0 || !File.Exists(file))
        {
            throw new InvalidOperationException($"chromium --screenshot exited with {exitCode} and wrote no {file}:\n{errors}");
        }
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> arguments)
    {
        var executable = ServerHost.FindExecutable("chromium", "chromium");
        var profile = ServerHost.CreateTempDirectory("chromium");
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile.FullName}",
        }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await output, await errors);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"chromium did not finish within {Deadline.TotalSeconds:0} s:\n{await errors}");
        }
        finally
        {
            ServerHost.DeleteTempDirectory(profile);
        }
    }
}

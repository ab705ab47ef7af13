// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// Packs src/HealthKit once into a folder feed, as a release would, under a version no earlier run used: the
/// machine's NuGet cache can then never hand an app a stale copy, and no throwaway NUGET_PACKAGES folder (a full
/// restore from scratch) is needed. Build output goes to the temp directory too, so packing never rewrites the
/// bin/ and obj/ folders that the test run itself (or anyone else building the repo) is using.
/// </summary>
public sealed class LocalPackageFeed : IAsyncLifetime
{
    // Only a hung command ends here: a pack or publish on a loaded two-core machine has taken more than three minutes.
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);

    public LocalPackageFeed()
    {
        Version = $"0.1.0-local.{DateTime.UtcNow.Ticks}";
    }

    /// <summary>The package version, unique to this run.</summary>
    public string Version { get; }

    /// <summary>The temp directory holding the feed, the pack's build output and the generated apps.</summary>
    public DirectoryInfo Root { get; private set; } = null!;

    /// <summary>The folder feed holding HealthKit.{Version}.nupkg.</summary>
    public string Feed => Path.Combine(Root.FullName, "feed");

    /// <summary>The <c>dotnet</c> host running these tests, so apps build with the SDK the repo builds with.</summary>
    public static string Dotnet { get; } =
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet"
            ? Environment.ProcessPath!
            : ServerHost.FindExecutable("dotnet", "dotnet-sdk-10.0");

    public async Task InitializeAsync()
    {
        Root = ServerHost.CreateTempDirectory("install");

        // Directory.Build.props, .targets and Directory.Packages.props are looked up through every parent folder:
        // empty ones here keep whatever lies in the temp directory's parents out of the generated apps.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            await File.WriteAllTextAsync(Path.Combine(Root.FullName, name), "<Project />\n");
        }

        var project = Path.Combine(FindRepositoryRoot(), "src", "HealthKit", "HealthKit.csproj");
        await RunAsync(
            "dotnet pack",
            [
                "pack", project, "-c", "Release", "-o", Feed,
                "--artifacts-path", Path.Combine(Root.FullName, "artifacts"),
                $"-p:Version={Version}",
            ]);

        var package = Path.Combine(Feed, $"HealthKit.{Version}.nupkg");
        if (!File.Exists(package))
        {
            throw new InvalidOperationException($"dotnet pack succeeded but wrote no {package}.");
        }
    }

    public Task DisposeAsync()
    {
        ServerHost.DeleteTempDirectory(Root);

        // The unique version was extracted into the shared NuGet cache by the apps' restores; nothing will use it again.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        ServerHost.DeleteTempDirectory(new DirectoryInfo(Path.Combine(packages, "healthkit", Version.ToLowerInvariant())));
        return Task.CompletedTask;
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/>; fails with its output unless it exits with 0.</summary>
    public static async Task<string> RunAsync(string what, IEnumerable<string> arguments)
    {
        var (exitCode, output) = await ServerHost.RunAsync(Dotnet, arguments, CommandTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed with exit code {exitCode}:\n{output}");
        }

        return output;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HealthKit.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No HealthKit.sln above {AppContext.BaseDirectory}: the install test packs the repository its output folder lies in.");
    }
}

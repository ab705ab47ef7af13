// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// Packs src/HealthKit once into a folder feed, under a version no earlier run used: the machine's NuGet cache can
/// then never hand an app a stale copy, and no throwaway NUGET_PACKAGES folder (a full restore from scratch) is
/// needed. It packs the way a user or a release pipeline does, <c>dotnet pack -c Release</c> in the project's folder
/// with no output or artifacts path, on a fresh copy of the tree in the temp directory, so packing never rewrites the
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

    /// <summary>The copy of the repository's tree that was packed: its root files and src/, without build output.</summary>
    public string Tree => Path.Combine(Root.FullName, "tree");

    /// <summary>The project folder in <see cref="Tree"/>.</summary>
    public string ProjectFolder => Path.Combine(Tree, "src", "HealthKit");

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

        CopyTree(FindRepositoryRoot(), Tree);
        await RunAsync("dotnet pack", ["pack", "-c", "Release", $"-p:Version={Version}"], ProjectFolder);

        // Where a plain pack puts the package: bin/{Configuration}/ of the project.
        var package = Path.Combine(ProjectFolder, "bin", "Release", $"HealthKit.{Version}.nupkg");
        if (!File.Exists(package))
        {
            throw new InvalidOperationException($"dotnet pack succeeded but wrote no {package}.");
        }

        Directory.CreateDirectory(Feed);
        File.Copy(package, Path.Combine(Feed, Path.GetFileName(package)));
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

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/>, in <paramref name="workingDirectory"/> when given (where
    /// the SDK looks for the project, global.json and nuget.config); fails with its output unless it exits with 0.
    /// </summary>
    public static async Task<string> RunAsync(string what, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var (exitCode, output) = workingDirectory is null
            ? await ServerHost.RunAsync(Dotnet, arguments, CommandTimeout)
            : await ServerHost.RunAsync(ServerHost.FindExecutable("env", "coreutils"), ["-C", workingDirectory, Dotnet, .. arguments], CommandTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed with exit code {exitCode}:\n{output}");
        }

        return output;
    }

    /// <summary>
    /// The files a fresh clone has for src/: the root's files (Directory.Build.props, Directory.Packages.props,
    /// global.json, nuget.config, .editorconfig ...) and src/ without bin/ and obj/.
    /// </summary>
    private static void CopyTree(string repository, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(repository))
        {
            // A git worktree's .git is a file pointing at the repository: a fresh copy is no checkout of it.
            if (Path.GetFileName(file) != ".git")
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        CopyDirectory(Path.Combine(repository, "src"), Path.Combine(target, "src"));

        static void CopyDirectory(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var file in Directory.EnumerateFiles(from))
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }

            foreach (var directory in Directory.EnumerateDirectories(from))
            {
                var name = Path.GetFileName(directory);
                if (name is not ("bin" or "obj"))
                {
                    CopyDirectory(directory, Path.Combine(to, name));
                }
            }
        }
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

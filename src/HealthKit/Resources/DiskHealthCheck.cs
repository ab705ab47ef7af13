// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>
/// Free space and writability of each directory the app writes (<see cref="WrittenDirectories"/>): temp, a file-system
/// key ring, SQLite databases, configured paths. Only those: enumerating drives reports a container's bind mounts and
/// pseudo file systems, which the app never writes. Each directory costs one <c>statvfs</c> and one <c>access</c>
/// call. A full disk fails every write (logs, temp files, the database, new keys) while every probe still passes.
/// </summary>
internal sealed class DiskHealthCheck(WrittenDirectories directories, IOptions<DeployHealthOptions> options) : IHealthCheck
{
    private ResourceLevel[]? _previous;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var watched = directories.Get();
        var previous = Volatile.Read(ref _previous);
        if (previous is null || previous.Length != watched.Count)
        {
            previous = new ResourceLevel[watched.Count];
            Volatile.Write(ref _previous, previous);
        }

        var settings = options.Value.Resources;
        var worst = ResourceLevel.Pass;
        var notes = new StringBuilder();
        for (var i = 0; i < watched.Count; i++)
        {
            var directory = watched[i];
            var level = Judge(directory, settings, previous[i], notes);
            previous[i] = level;
            worst = ResourceRules.Worse(worst, level);
        }

        return Task.FromResult(new HealthCheckResult(ResourceRules.ToStatus(worst, context.Registration.FailureStatus), notes.ToString().TrimEnd()));
    }

    private static ResourceLevel Judge(WrittenDirectory directory, DeployHealthResourceOptions settings, ResourceLevel previous, StringBuilder notes)
    {
        // A directory not created yet (a key ring before its first key) is written where it will be created.
        var path = NearestExisting(directory.Path);
        if (path is null)
        {
            notes.Append(CultureInfo.InvariantCulture, $"{directory.Role} ({directory.Path}): no part of the path exists. ");
            return ResourceLevel.Fail;
        }

        if (!ResourceInterop.CanWrite(path, out var error))
        {
            notes.Append(CultureInfo.InvariantCulture, $"{directory.Role} ({path}) cannot be written (errno {error}{(error == 30 ? ", read-only file system" : error == 13 ? ", permission denied" : "")}). ");
            return ResourceLevel.Fail;
        }

        long free, total;
        try
        {
            var drive = new DriveInfo(path);
            free = drive.AvailableFreeSpace;
            total = drive.TotalSize;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
        {
            notes.Append(CultureInfo.InvariantCulture, $"{directory.Role} ({path}): free space unknown ({exception.Message}). ");
            return ResourceLevel.Pass;
        }

        var level = total > 0 ? ResourceRules.JudgeFree(free, total, settings, previous) : ResourceLevel.Pass;
        var percent = total > 0 ? free * 100.0 / total : 100;
        notes.Append(CultureInfo.InvariantCulture, $"{directory.Role} ({path}): {ResourceRules.Size(free)} free of {ResourceRules.Size(total)} ({percent:0.#}%){(level == ResourceLevel.Pass ? "" : level == ResourceLevel.Warn ? ", low" : ", full")}. ");
        return level;
    }

    private static string? NearestExisting(string path)
    {
        for (var current = path; !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
        {
            if (Directory.Exists(current))
            {
                return current;
            }
        }

        return null;
    }
}

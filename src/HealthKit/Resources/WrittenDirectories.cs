// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Data.Common;
using System.Runtime.CompilerServices;
using HealthKit.Checks;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>
/// The directories the app writes, found the way discovery finds its database: from what it registered, by type name,
/// once the container is complete. The temp directory always; a Data Protection key ring kept in a directory
/// (<c>PersistKeysToFileSystem</c>); the directory of each SQLite file a DbContext opens; and
/// <c>DeployHealth:Resources:DiskPaths</c> (relative to the content root, or to the app's base directory in a service
/// provider built without a host). Read once: none of these moves while the app runs.
/// </summary>
internal sealed class WrittenDirectories(IServiceProvider services, RegisteredServices registered, IOptions<DeployHealthOptions> options, IHostEnvironment? environment = null)
{
    private const string DataProtectionProviderTypeName = "Microsoft.AspNetCore.DataProtection.IDataProtectionProvider";

    private IReadOnlyList<WrittenDirectory>? _found;

    public IReadOnlyList<WrittenDirectory> Get() => Volatile.Read(ref _found) ?? Find();

    private List<WrittenDirectory> Find()
    {
        var found = new List<WrittenDirectory>();
        Add(found, "temp", Path.GetTempPath());
        if (registered.Has(DataProtectionProviderTypeName))
        {
            AddKeyRing(found, services);
        }

        var contexts = CheckDiscovery.Scan(registered.Services).Contexts;
        if (contexts.Count > 0)
        {
            AddSqlite(found, services, contexts);
        }

        foreach (var configured in options.Value.Resources.DiskPaths)
        {
            if (!string.IsNullOrWhiteSpace(configured))
            {
                Add(found, "configured", Path.GetFullPath(configured, environment?.ContentRootPath ?? AppContext.BaseDirectory));
            }
        }

        Volatile.Write(ref _found, found);
        return found;
    }

    /// <summary>The directory of the SQLite file a connection string opens; null for an in-memory database.</summary>
    internal static string? SqliteDirectory(string connectionString)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string? file = null;
        foreach (var key in (string[])["Data Source", "DataSource", "Filename"])
        {
            if (builder.TryGetValue(key, out var value) && value is string text && text.Length > 0)
            {
                file = text;
                break;
            }
        }

        if (file is null || file.StartsWith(":memory:", StringComparison.OrdinalIgnoreCase)
            || (builder.TryGetValue("Mode", out var mode) && string.Equals(mode as string, "Memory", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        if (file.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // A URI filename (file:data.db, file:/srv/data.db, file:///srv/data.db?mode=ro): the path without its query.
            var path = file.AsSpan("file:".Length);
            var query = path.IndexOf('?');
            path = query >= 0 ? path[..query] : path;
            if (path.StartsWith("//"))
            {
                var slash = path[2..].IndexOf('/');
                path = slash >= 0 ? path[(slash + 2)..] : [];
            }

            if (path.IsEmpty || path.Contains(":memory:", StringComparison.Ordinal))
            {
                return null;
            }

            file = Uri.UnescapeDataString(path.ToString());
        }

        // Microsoft.Data.Sqlite's own substitution, and its base for a relative path: the working directory.
        if (file.StartsWith("|DataDirectory|", StringComparison.OrdinalIgnoreCase))
        {
            var dataDirectory = AppContext.GetData("DataDirectory") as string ?? AppContext.BaseDirectory;
            file = Path.Combine(dataDirectory, file["|DataDirectory|".Length..].TrimStart('/', '\\'));
        }

        return Path.GetDirectoryName(Path.GetFullPath(file));
    }

    private static void Add(List<WrittenDirectory> found, string role, string path)
    {
        var full = Path.TrimEndingDirectorySeparator(path);
        foreach (var existing in found)
        {
            if (string.Equals(existing.Path, full, StringComparison.Ordinal))
            {
                return;
            }
        }

        found.Add(new WrittenDirectory(role, full));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddKeyRing(List<WrittenDirectory> found, IServiceProvider services)
    {
        if (services.GetService<IOptions<KeyManagementOptions>>()?.Value.XmlRepository is FileSystemXmlRepository files)
        {
            Add(found, "Data Protection keys", files.Directory.FullName);
        }
    }

    // Kept out of line: only an app with a DbContext loads EF Core for it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddSqlite(List<WrittenDirectory> found, IServiceProvider services, List<Type> contexts)
    {
        using var scope = services.CreateScope();
        foreach (var context in contexts)
        {
            if (scope.ServiceProvider.GetService(typeof(DbContextOptions<>).MakeGenericType(context)) is not DbContextOptions contextOptions)
            {
                continue;
            }

            foreach (var extension in contextOptions.Extensions)
            {
                if (extension is RelationalOptionsExtension relational
                    && extension.GetType().Name.StartsWith("Sqlite", StringComparison.Ordinal)
                    && (relational.ConnectionString ?? relational.Connection?.ConnectionString) is { Length: > 0 } connectionString
                    && SqliteDirectory(connectionString) is { } directory)
                {
                    Add(found, "SQLite " + context.Name, directory);
                }
            }
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Safety;

/// <summary>
/// Instances behind a balancer must share the Data Protection key ring and application name, or a cookie or
/// antiforgery token made by one instance cannot be read by the next ("the antiforgery token could not be
/// decrypted", users logged out). Degraded when the keys live only in memory or in a directory local to the
/// container, or no application name is set; and a protect/unprotect round trip through the configured key ring so
/// a broken shared store (permissions, missing keys) fails here rather than in users' cookies.
/// </summary>
internal sealed class DataProtectionHealthCheck(
    IDataProtectionProvider provider,
    IOptions<KeyManagementOptions> keys,
    IOptions<DataProtectionOptions> protection,
    IHostEnvironment environment) : IHealthCheck
{
    private const string Purpose = "HealthKit.DeploySafety.v1";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var protector = provider.CreateProtector(Purpose);
        var secret = RandomNumberGenerator.GetBytes(16);
        try
        {
            var back = protector.Unprotect(protector.Protect(secret));
            if (!back.AsSpan().SequenceEqual(secret))
            {
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The Data Protection key ring returned different data from what was protected."));
            }
        }
        catch (CryptographicException exception)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"The Data Protection key ring cannot protect and unprotect: {exception.Message}"));
        }

        var problem = environment.IsDevelopment() ? null : FindSharingProblem(keys.Value, protection.Value, environment.ContentRootPath);
        return Task.FromResult(problem is null
            ? HealthCheckResult.Healthy("Data Protection round-trips with a shared key ring and application name.")
            : HealthCheckResult.Degraded(problem));
    }

    internal static string? FindSharingProblem(KeyManagementOptions keys, DataProtectionOptions protection, string contentRoot)
    {
        var repository = keys.XmlRepository;
        string? problem = null;
        if (repository is null && (InContainer || string.IsNullOrEmpty(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile))))
        {
            // The default store is the user profile's directory when there is one: inside a container that dies with
            // the container, and without a profile the keys are only in memory.
            problem = "Data Protection keys use the default store, which lives only in this container or in memory: other instances cannot read them and a redeploy loses them. Call PersistKeysTo… with a store every instance shares.";
        }
        else if (repository is FileSystemXmlRepository files && InContainer && MountPointOf(files.Directory.FullName) == "/")
        {
            problem = $"Data Protection keys are in a directory on this container's own filesystem ({files.Directory.Name}): mount a volume every instance shares, or use a shared store.";
        }

        // Unless SetApplicationName is called, the discriminator is the content root path: hosts that deploy the
        // app to different paths cannot read each other's cookies.
        var discriminator = protection.ApplicationDiscriminator?.TrimEnd('/', '\\');
        if (string.IsNullOrEmpty(discriminator) || string.Equals(discriminator, contentRoot.TrimEnd('/', '\\'), StringComparison.Ordinal))
        {
            var name = "No Data Protection application name is set, so it is derived from the content root path and differs between hosts with different paths: call SetApplicationName(\"...\").";
            problem = problem is null ? name : problem + " " + name;
        }

        return problem;
    }

    private static bool InContainer =>
        string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The mount point that holds <paramref name="path"/>, from /proc/self/mountinfo; "/" when unknown.</summary>
    internal static string MountPointOf(string path, string mountInfo = "/proc/self/mountinfo")
    {
        var best = "/";
        try
        {
            foreach (var line in File.ReadLines(mountInfo))
            {
                // Field 5 is the mount point (octal escapes for spaces are rare in volume paths and left as they are).
                var fields = line.Split(' ');
                if (fields.Length > 4)
                {
                    var mountPoint = fields[4];
                    var covers = path == mountPoint || path.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal);
                    if (covers && mountPoint.Length > best.Length)
                    {
                        best = mountPoint;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return best;
    }
}

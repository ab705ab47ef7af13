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
/// decrypted", users logged out). Degraded only on evidence that keys will be lost or cannot be shared: they live only
/// in memory, or in a directory of the container's own filesystem. A fresh app on one host (keys in the user
/// profile, no application name) passes: a warning every fresh app shows teaches people to ignore warnings, so what
/// it should still do is advice, said once in the start-up report. And a protect/unprotect round trip through the
/// configured key ring, so a broken shared store (permissions, missing keys) fails here rather than in users' cookies.
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

        if (environment.IsDevelopment())
        {
            return Task.FromResult(HealthCheckResult.Healthy("Data Protection round-trips."));
        }

        var problem = FindSharingProblem(provider, keys.Value, InContainer, HasUserProfile);
        if (problem is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded(problem));
        }

        var advice = FindAdvice(protection.Value, environment.ContentRootPath);
        return Task.FromResult(HealthCheckResult.Healthy(advice is null
            ? "Data Protection round-trips with a persisted key ring and an application name."
            : "Data Protection round-trips with a persisted key ring. " + advice));
    }

    /// <summary>Evidence that keys will be lost or cannot be shared with other instances; null when there is none.</summary>
    internal static string? FindSharingProblem(IDataProtectionProvider provider, KeyManagementOptions keys, bool inContainer, bool hasUserProfile)
    {
        if (provider is EphemeralDataProtectionProvider || keys.XmlRepository?.GetType().Name == "EphemeralXmlRepository")
        {
            return "Data Protection keys are only in memory (an ephemeral provider or repository): a restart loses them and other instances cannot read them. Call PersistKeysTo… with a store every instance shares.";
        }

        var repository = keys.XmlRepository;
        if (repository is null && (inContainer || !hasUserProfile))
        {
            // The default store is the user profile's directory when there is one: inside a container that dies with
            // the container, and without a profile the keys are only in memory.
            return "Data Protection keys use the default store, which lives only in this container or in memory: other instances cannot read them and a redeploy loses them. Call PersistKeysTo… with a store every instance shares.";
        }

        if (repository is FileSystemXmlRepository files && inContainer && MountPointOf(files.Directory.FullName) == "/")
        {
            return $"Data Protection keys are in a directory on this container's own filesystem ({files.Directory.Name}): mount a volume every instance shares, or use a shared store.";
        }

        return null;
    }

    /// <summary>What a single instance does not need but a second one will: an application name. Null when set.</summary>
    internal static string? FindAdvice(DataProtectionOptions protection, string contentRoot)
    {
        // Unless SetApplicationName is called, the discriminator is the content root path: hosts that deploy the
        // app to different paths cannot read each other's cookies.
        var discriminator = protection.ApplicationDiscriminator?.TrimEnd('/', '\\');
        return string.IsNullOrEmpty(discriminator) || string.Equals(discriminator, contentRoot.TrimEnd('/', '\\'), StringComparison.Ordinal)
            ? "Before running a second instance: call SetApplicationName(\"...\") and PersistKeysTo… a store every instance shares; without an application name it is derived from the content root path, which differs between hosts with different paths."
            : null;
    }

    internal static bool HasUserProfile => !string.IsNullOrEmpty(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static bool InContainer =>
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

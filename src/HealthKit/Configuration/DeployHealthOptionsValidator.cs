// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace HealthKit.Configuration;

/// <summary>
/// Validates <see cref="DeployHealthOptions"/> and the required configuration keys when the host starts
/// (<c>ValidateOnStart</c>), before the server binds its port. Every failure is collected so the one
/// exception names all of them; messages name keys as a user sets them and never print a value.
/// </summary>
internal sealed class DeployHealthOptionsValidator(IConfiguration configuration) : IValidateOptions<DeployHealthOptions>
{
    private const string Section = DeployHealthOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, DeployHealthOptions options)
    {
        var failures = new List<string>();
        ValidatePath(options.Path, failures);
        RequirePositive(nameof(DeployHealthOptions.Timeout), options.Timeout, failures);
        RequirePositive(nameof(DeployHealthOptions.ProbeTimeout), options.ProbeTimeout, failures);
        RequireNotNegative(nameof(DeployHealthOptions.DrainDelay), options.DrainDelay, failures);
        RequireNotNegative(nameof(DeployHealthOptions.StartupGrace), options.StartupGrace, failures);
        if (options.AgentPort is { } port && (port < 1 || port > 65535))
        {
            failures.Add(Invariant($"{Section}:AgentPort must be a TCP port from 1 to 65535 (was {port}); remove it to switch the agent listener off"));
        }

        if (options.AgentPort is not null && !System.Net.IPAddress.TryParse(options.AgentAddress, out _))
        {
            failures.Add($"{Section}:AgentAddress must be an IP address such as 127.0.0.1 (was '{options.AgentAddress}')");
        }

        RequireNotNegative(nameof(DeployHealthOptions.CacheDuration), options.CacheDuration, failures);

        foreach (var (checkName, check) in options.Checks)
        {
            ValidateCheck(checkName, check, failures);
        }

        for (var i = 0; i < options.SmokePages.Count; i++)
        {
            var page = options.SmokePages[i];
            if (string.IsNullOrWhiteSpace(page) || page[0] != '/' || page.StartsWith("//", StringComparison.Ordinal))
            {
                failures.Add(Invariant($"{Section}:SmokePages:{i} must be an app-relative path starting with a single '/' (was '{page}')"));
            }
        }

        RequirePositive(nameof(DeployHealthOptions.CertificateWarning), options.CertificateWarning, failures);
        for (var i = 0; i < options.CertificateUrls.Count; i++)
        {
            if (!Uri.TryCreate(options.CertificateUrls[i], UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps)
            {
                failures.Add($"{Section}:CertificateUrls:{i} must be an absolute https:// URL (was '{options.CertificateUrls[i]}')");
            }
        }

        var missing = FindMissing(options.RequiredConfiguration);
        if (missing.Count > 0)
        {
            failures.Add(DescribeMissing(missing));
        }

        // OptionsValidationException joins failures with "; ", so none ends with a full stop of its own.
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The spelling of a configuration key as an environment variable: <c>:</c> becomes <c>__</c>.</summary>
    public static string ToEnvironmentVariable(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static void ValidatePath(string? path, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            failures.Add($"{Section}:Path must not be empty; use a path such as /health");
        }
        else if (path[0] != '/')
        {
            failures.Add($"{Section}:Path must start with '/' (was '{path}'); use a path such as /health");
        }
        else if (path.TrimEnd('/').Length == 0)
        {
            failures.Add($"{Section}:Path must not be '/': probes would take over every request of the application");
        }
        else if (path.AsSpan().IndexOfAny("?#% \t") >= 0 || path.Contains("//", StringComparison.Ordinal))
        {
            failures.Add($"{Section}:Path must be a plain path without query, fragment, escapes, spaces or '//' (was '{path}')");
        }
    }

    private static void ValidateCheck(string name, DeployHealthCheckOptions check, List<string> failures)
    {
        if (check.FailureThreshold < 1)
        {
            failures.Add(Invariant($"{Section}:Checks:{name}:FailureThreshold must be at least 1 (was {check.FailureThreshold})"));
        }

        if (check.Timeout is { } timeout)
        {
            RequirePositive($"Checks:{name}:Timeout", timeout, failures);
        }

        if (check.FailureGracePeriod < TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:Checks:{name}:FailureGracePeriod must not be negative (was {check.FailureGracePeriod})"));
        }

        if (check.Name is not null && string.IsNullOrWhiteSpace(check.Name))
        {
            failures.Add($"{Section}:Checks:{name}:Name must not be empty; remove it to keep the discovered name");
        }
    }

    private static void RequireNotNegative(string key, TimeSpan value, List<string> failures)
    {
        if (value < TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:{key} must not be negative (was {value})"));
        }
    }

    private static void RequirePositive(string key, TimeSpan value, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:{key} must be positive (was {value})"));
        }
    }

    private List<string> FindMissing(IList<string> keys)
    {
        var missing = new List<string>();
        foreach (var key in keys)
        {
            if (string.IsNullOrWhiteSpace(key) || missing.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var section = configuration.GetSection(key);

            // A section with children (a whole object bound to options) counts as present even though it has no value.
            if (string.IsNullOrWhiteSpace(section.Value) && !section.GetChildren().Any())
            {
                missing.Add(key);
            }
        }

        return missing;
    }

    private static string DescribeMissing(List<string> missing)
    {
        var parts = new string[missing.Count];
        for (var i = 0; i < missing.Count; i++)
        {
            parts[i] = $"'{missing[i]}' (environment variable {ToEnvironmentVariable(missing[i])})";
        }

        return $"Required configuration is missing or empty: {string.Join(", ", parts)}. Set each key in appsettings.json, user secrets or the environment before starting the application";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

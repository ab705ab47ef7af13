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

    /// <summary>No balancer waits longer for one probe: an ALB's longest health check timeout is 120 s.</summary>
    internal static readonly TimeSpan MaxProbeTimeout = TimeSpan.FromMinutes(5);

    /// <summary>No balancer takes longer to notice a draining instance; a longer drain only delays every deploy.</summary>
    internal static readonly TimeSpan MaxDrainDelay = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, DeployHealthOptions options)
    {
        var failures = new List<string>();

        // Values as configured, before binding: only the string tells "2" (read as two days) from "2.00:00:00", and a
        // value the binder could not convert was left out of the options (DeployHealthBinding) to be reported here.
        var reported = ValidateConfiguredValues(failures);
        ReportRenamedKeys(failures);
        ValidatePath(options.Path, failures);
        RequirePositive(nameof(DeployHealthOptions.CheckDeadline), options.CheckDeadline, failures, reported);
        RequirePositive(nameof(DeployHealthOptions.BalancerProbeTimeout), options.BalancerProbeTimeout, failures, reported);
        RequireNotNegative("Drain:Delay", options.Drain.Delay, failures, reported);
        RequireNotNegative("Startup:ReadinessDelay", options.Startup.ReadinessDelay, failures, reported);
        RequireNotNegative("Startup:WarmUpLimit", options.Startup.WarmUpLimit, failures, reported);
        RequireNotNegative(nameof(DeployHealthOptions.CacheDuration), options.CacheDuration, failures, reported);
        ValidateWaits(options, failures, reported);
        ValidateDrain(options, failures, reported);
        if (options.Agent.Port is { } port && (port < 1 || port > 65535))
        {
            failures.Add(Invariant($"{Section}:Agent:Port must be a TCP port from 1 to 65535 (was {port}); remove it to switch the agent listener off"));
        }

        if (options.Agent.Port is not null && !System.Net.IPAddress.TryParse(options.Agent.Address, out _))
        {
            failures.Add($"{Section}:Agent:Address must be an IP address such as 127.0.0.1 (was '{options.Agent.Address}')");
        }

        ValidateProbeListener(options, failures);
        ValidateWatchLimits(options, failures);

        foreach (var (checkName, check) in options.Checks)
        {
            ValidateCheck(checkName, check, options.BalancerProbeTimeout, failures, reported);
            ValidateInterval(checkName, check, options.CacheDuration, failures, reported);
        }

        for (var i = 0; i < options.SmokePages.Count; i++)
        {
            var page = options.SmokePages[i];
            if (string.IsNullOrWhiteSpace(page) || page[0] != '/' || page.StartsWith("//", StringComparison.Ordinal))
            {
                failures.Add(Invariant($"{Section}:SmokePages:{i} must be an app-relative path starting with a single '/' (was '{page}')"));
            }
        }

        RequirePositive("Certificates:WarnBeforeExpiry", options.Certificates.WarnBeforeExpiry, failures, reported);
        for (var i = 0; i < options.Certificates.Urls.Count; i++)
        {
            if (!Uri.TryCreate(options.Certificates.Urls[i], UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps)
            {
                failures.Add($"{Section}:Certificates:Urls:{i} must be an absolute https:// URL (was '{options.Certificates.Urls[i]}')");
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

    private static void ValidateProbeListener(DeployHealthOptions options, List<string> failures)
    {
        if (options.ProbeListener.Port is { } port)
        {
            if (port < 1 || port > 65535)
            {
                failures.Add(Invariant($"{Section}:ProbeListener:Port must be a TCP port from 1 to 65535 (was {port}); remove it to switch the probe listener off"));
            }
            else if (options.Agent.Port == port)
            {
                failures.Add(Invariant($"{Section}:ProbeListener:Port and {Section}:Agent:Port must differ (both were {port}): each is a listener of its own"));
            }

            if (!System.Net.IPAddress.TryParse(options.ProbeListener.Address, out _))
            {
                failures.Add($"{Section}:ProbeListener:Address must be an IP address such as 0.0.0.0, :: or 127.0.0.1 (was '{options.ProbeListener.Address}')");
            }
        }

        if (options.OverloadThreshold is { } threshold && threshold < TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:OverloadThreshold must not be negative (was {threshold}); 00:00:00 switches the overload detector off"));
        }

        if (options.ProbeListener.DetailsForLoopback && !ProbeListenerIsLoopback(options))
        {
            failures.Add($"{Section}:ProbeListener:DetailsForLoopback gives details only on the probe listener bound to loopback: set {Section}:ProbeListener:Port and {Section}:ProbeListener:Address to 127.0.0.1 (or ::1), or use {Section}:DetailsPolicy. On the application's own port a same-host forwarder makes every request look local");
        }
    }

    /// <summary>Whether the probe listener is on and reachable from this host only.</summary>
    private static void ValidateWatchLimits(DeployHealthOptions options, List<string> failures)
    {
        if (options.Grpc.MaxWatchStreams < 1)
        {
            failures.Add(Invariant($"{Section}:Grpc:MaxWatchStreams must be at least 1 (was {options.Grpc.MaxWatchStreams}): the gRPC Watch streams open at once, default 1000"));
        }

        if (options.Grpc.MaxWatchStreamsPerConnection < 1)
        {
            failures.Add(Invariant($"{Section}:Grpc:MaxWatchStreamsPerConnection must be at least 1 (was {options.Grpc.MaxWatchStreamsPerConnection}): the gRPC Watch streams one connection may keep open, default 16"));
        }
    }

    internal static bool ProbeListenerIsLoopback(DeployHealthOptions options) =>
        options.ProbeListener.Port is not null
        && System.Net.IPAddress.TryParse(options.ProbeListener.Address, out var address)
        && System.Net.IPAddress.IsLoopback(address);

    private static void ValidateCheck(string name, DeployHealthCheckOptions check, TimeSpan probeTimeout, List<string> failures, HashSet<string> reported)
    {
        if (check.FailureThreshold < 1)
        {
            failures.Add(Invariant($"{Section}:Checks:{name}:FailureThreshold must be at least 1 (was {check.FailureThreshold})"));
        }

        if (check.Deadline is { } deadline)
        {
            RequirePositive($"Checks:{name}:Deadline", deadline, failures, reported);
            RequireWithinProbeTimeout($"Checks:{name}:Deadline", deadline, probeTimeout, failures, reported);
        }

        if (check.MinimumFailureDuration < TimeSpan.Zero && !reported.Contains($"{Section}:Checks:{name}:MinimumFailureDuration"))
        {
            failures.Add(Invariant($"{Section}:Checks:{name}:MinimumFailureDuration must not be negative (was {check.MinimumFailureDuration})"));
        }

        if (check.Name is not null && string.IsNullOrWhiteSpace(check.Name))
        {
            failures.Add($"{Section}:Checks:{name}:Name must not be empty; remove it to keep the discovered name");
        }
    }

    private static void ValidateInterval(string name, DeployHealthCheckOptions check, TimeSpan cacheDuration, List<string> failures, HashSet<string> reported)
    {
        if (check.Interval is not { } interval || reported.Contains($"{Section}:Checks:{name}:Interval"))
        {
            return;
        }

        if (interval <= TimeSpan.Zero)
        {
            failures.Add(Invariant($"{Section}:Checks:{name}:Interval must be positive (was {interval:c}); remove it to run the check in every evaluation"));
        }
        else if (interval < cacheDuration)
        {
            // Evaluations happen once per cache period at most: a shorter interval would promise a cadence it never gets.
            failures.Add(Invariant($"{Section}:Checks:{name}:Interval is {interval:c}, shorter than {Section}:CacheDuration ({cacheDuration:c}): a check runs at most once per cache period; use at least {cacheDuration:c}, or remove it to run the check in every evaluation"));
        }
    }

    /// <summary>
    /// Reports every configured value the binder could not convert, and every duration written as a bare number
    /// (.NET reads <c>2</c> as two days, which a container's <c>DeployHealth__CheckDeadline=2</c> never means). Returns the
    /// keys reported, so a value already reported is not reported again for its range.
    /// </summary>
    private HashSet<string> ValidateConfiguredValues(List<string> failures)
    {
        var reported = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in DeployHealthBinding.FindValues(configuration.GetSection(Section)))
        {
            if (!value.Convertible)
            {
                failures.Add($"{Spell(value.Path)} must be {Describe(value.Type)} (was '{value.Raw}')");
                reported.Add(value.Path);
            }
            else if (value.Type == typeof(TimeSpan) && IsBareNumber(value.Raw))
            {
                var read = TimeSpan.Parse(value.Raw, CultureInfo.InvariantCulture);
                var meant = double.TryParse(value.Raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && Math.Abs(seconds) < 86_400
                    ? Invariant($"; for {value.Raw.Trim()} seconds write {TimeSpan.FromSeconds(seconds):c}")
                    : string.Empty;
                failures.Add(Invariant($"{Spell(value.Path)} is the bare number '{value.Raw}', which .NET reads as {read.TotalDays:0.###} day(s) ({read:c}): write a duration as [d.]hh:mm:ss{meant}"));
                reported.Add(value.Path);
            }
        }

        return reported;
    }

    /// <summary>
    /// Every key of an earlier version that is still set (<see cref="RenamedKeys"/>): it would be ignored by the binder,
    /// so the setting it was meant to make would silently not apply. One failure per key, naming the key to use.
    /// </summary>
    private void ReportRenamedKeys(List<string> failures)
    {
        foreach (var (old, renamed) in RenamedKeys.Find(configuration.GetSection(Section)))
        {
            failures.Add($"{Spell(old)} was renamed: set {Spell(renamed)} instead");
        }
    }

    /// <summary>Durations that no balancer waits for: each is longer than what the probe that needs it can wait.</summary>
    private static void ValidateWaits(DeployHealthOptions options, List<string> failures, HashSet<string> reported)
    {
        if (options.BalancerProbeTimeout > MaxProbeTimeout && !reported.Contains($"{Section}:BalancerProbeTimeout"))
        {
            failures.Add(Invariant($"{Spell($"{Section}:BalancerProbeTimeout")} is {options.BalancerProbeTimeout:c}, longer than any balancer waits for a probe (an ALB at most 120 s): set the balancer's probe timeout, such as 00:00:05"));
            return;
        }

        if (reported.Contains($"{Section}:BalancerProbeTimeout"))
        {
            return;
        }

        RequireWithinProbeTimeout(nameof(DeployHealthOptions.CheckDeadline), options.CheckDeadline, options.BalancerProbeTimeout, failures, reported);
        if (options.CacheDuration > options.BalancerProbeTimeout && !reported.Contains($"{Section}:CacheDuration"))
        {
            failures.Add(Invariant($"{Spell($"{Section}:CacheDuration")} is {options.CacheDuration:c}, longer than {Section}:BalancerProbeTimeout ({options.BalancerProbeTimeout:c}): the balancer would be told a result older than it waits for one probe; use at most the probe timeout, such as 00:00:02"));
        }

        if (options.Drain.Delay > MaxDrainDelay && !reported.Contains($"{Section}:Drain:Delay"))
        {
            failures.Add(Invariant($"{Spell($"{Section}:Drain:Delay")} is {options.Drain.Delay:c}, longer than an hour: no balancer needs that long to notice a draining instance (HAProxy inter × fall, ALB interval × unhealthy threshold); use such as 00:00:10"));
        }
    }

    private static void ValidateDrain(DeployHealthOptions options, List<string> failures, HashSet<string> reported)
    {
        RequirePositive("Drain:Maximum", options.Drain.Maximum, failures, reported);
        if (options.Drain.Maximum > MaxDrainDelay && !reported.Contains($"{Section}:Drain:Maximum"))
        {
            failures.Add(Invariant($"{Spell($"{Section}:Drain:Maximum")} is {options.Drain.Maximum:c}, longer than an hour: no balancer needs that long to take an instance out; use such as 00:00:30"));
        }

        if (options.Drain.FailureThreshold is { } threshold && threshold is < 1 or > 100)
        {
            failures.Add(Invariant($"{Section}:Drain:FailureThreshold must be from 1 to 100 (was {threshold}): the failing answers in a row after which the balancer takes an instance out, such as HAProxy's fall; remove it for each prober's default"));
        }
    }

    private static void RequireWithinProbeTimeout(string key, TimeSpan value, TimeSpan probeTimeout, List<string> failures, HashSet<string> reported)
    {
        if (value > probeTimeout && !reported.Contains($"{Section}:{key}") && !reported.Contains($"{Section}:BalancerProbeTimeout"))
        {
            failures.Add(Invariant($"{Spell($"{Section}:{key}")} is {value:c}, longer than {Section}:BalancerProbeTimeout ({probeTimeout:c}): the balancer gives up on the probe before the check reaches its deadline; lower it, such as 00:00:02, or set {Section}:BalancerProbeTimeout to the balancer's probe timeout"));
        }
    }

    /// <summary>A key as a user sets it in a file and in the environment.</summary>
    private static string Spell(string key) => $"{key} (environment variable {ToEnvironmentVariable(key)})";

    private static bool IsBareNumber(string raw)
    {
        var text = raw.AsSpan().Trim();
        if (text.Length > 0 && (text[0] == '-' || text[0] == '+'))
        {
            text = text[1..];
        }

        return text.Length > 0 && !text.ContainsAnyExcept("0123456789");
    }

    private static string Describe(Type type)
    {
        if (type == typeof(TimeSpan))
        {
            return "a duration written [d.]hh:mm:ss such as 00:00:02";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short))
        {
            return "a whole number";
        }

        return type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}" : $"a value of type {type.Name}";
    }

    private static void RequireNotNegative(string key, TimeSpan value, List<string> failures, HashSet<string> reported)
    {
        if (value < TimeSpan.Zero && !reported.Contains($"{Section}:{key}"))
        {
            failures.Add(Invariant($"{Section}:{key} must not be negative (was {value})"));
        }
    }

    private static void RequirePositive(string key, TimeSpan value, List<string> failures, HashSet<string> reported)
    {
        if (value <= TimeSpan.Zero && !reported.Contains($"{Section}:{key}"))
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

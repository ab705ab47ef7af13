// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Reflection;
using System.Text.RegularExpressions;
using HealthKit.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Configuration;

/// <summary>
/// A key of an earlier version (copied from older docs into appsettings.json or a container's environment) stops the
/// start with one message naming its new key, through the same start-up validation as every other invalid option,
/// instead of being ignored by the binder; the new keys bind. In process, on a worker host: no sockets.
/// </summary>
[Trait("Tier", "Fast")]
public sealed partial class RenamedKeysTests
{
    /// <summary>Every renamed key, as an earlier version's docs wrote it, with a value that was valid for it then.</summary>
    public static TheoryData<string, string, string> OldKeys => new()
    {
        { "DeployHealth:Timeout", "00:00:01", "DeployHealth:CheckDeadline" },
        { "DeployHealth:ProbeTimeout", "00:00:03", "DeployHealth:BalancerProbeTimeout" },
        { "DeployHealth:StartupGrace", "00:00:01", "DeployHealth:Startup:ReadinessDelay" },
        { "DeployHealth:StartupAllowance", "00:00:10", "DeployHealth:Startup:WarmUpLimit" },
        { "DeployHealth:DrainDelay", "00:00:15", "DeployHealth:Drain:Delay" },
        { "DeployHealth:DrainMaximum", "00:01:05", "DeployHealth:Drain:Maximum" },
        { "DeployHealth:DrainFailureThreshold", "2", "DeployHealth:Drain:FailureThreshold" },
        { "DeployHealth:ProbePort", "8081", "DeployHealth:ProbeListener:Port" },
        { "DeployHealth:ProbeAddress", "127.0.0.1", "DeployHealth:ProbeListener:Address" },
        { "DeployHealth:DetailsForLoopback", "true", "DeployHealth:ProbeListener:DetailsForLoopback" },
        { "DeployHealth:AgentPort", "5555", "DeployHealth:Agent:Port" },
        { "DeployHealth:AgentAddress", "10.0.0.5", "DeployHealth:Agent:Address" },
        { "DeployHealth:MaxWatchStreams", "100", "DeployHealth:Grpc:MaxWatchStreams" },
        { "DeployHealth:MaxWatchStreamsPerConnection", "4", "DeployHealth:Grpc:MaxWatchStreamsPerConnection" },
        { "DeployHealth:CertificateWarning", "30.00:00:00", "DeployHealth:Certificates:WarnBeforeExpiry" },
        { "DeployHealth:CertificateUrls:0", "https://api.example.com", "DeployHealth:Certificates:Urls" },
        { "DeployHealth:Checks:db:Timeout", "00:00:01", "DeployHealth:Checks:db:Deadline" },
        { "DeployHealth:Checks:redis:FailureGracePeriod", "00:00:10", "DeployHealth:Checks:redis:MinimumFailureDuration" },
        { "DeployHealth:Fleet:BoardGracePeriod", "00:02:00", "DeployHealth:Fleet:BoardLossTolerance" },
    };

    [Theory]
    [MemberData(nameof(OldKeys))]
    public async Task Start_OldKeyInConfiguration_FailsWithOneMessageNamingTheNewKey(string oldKey, string value, string newKey)
    {
        // Tried: the old key in appsettings-style configuration, as a file copied from an earlier version's docs sets it.
        var exception = await StartExpectingFailureAsync(builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [oldKey] = value }));

        var message = Assert.Single(exception.Failures);
        var reported = oldKey.EndsWith(":0", StringComparison.Ordinal) ? oldKey[..^2] : oldKey;
        Assert.Equal($"{reported} (environment variable {Env(reported)}) was renamed: set {newKey} (environment variable {Env(newKey)}) instead", message);
    }

    [Theory]
    [MemberData(nameof(OldKeys))]
    public async Task Start_OldKeyAsEnvironmentVariable_FailsWithOneMessageNamingTheNewKey(string oldKey, string value, string newKey)
    {
        // Tried: the old key as a container sets it, DeployHealth__ProbePort=8081, read by the environment-variable
        // provider. A prefix of this test's own keeps the variables apart from every other test in the process.
        var prefix = $"HEALTHKIT_RENAMED_{Guid.NewGuid():N}_";
        var variable = prefix + Env(oldKey);
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            var exception = await StartExpectingFailureAsync(builder => builder.Configuration.AddEnvironmentVariables(prefix));

            var message = Assert.Single(exception.Failures);
            Assert.Contains($"was renamed: set {newKey} (environment variable {Env(newKey)}) instead", message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Start_SeveralOldKeysBesideAnInvalidNewOne_OneFailureListsEach()
    {
        // Tried: a file with two old keys and one new key out of range: all three in the one start-up failure.
        var exception = await StartExpectingFailureAsync(builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DeployHealth:ProbePort"] = "8081",
            ["DeployHealth:DrainDelay"] = "00:00:10",
            ["DeployHealth:Agent:Port"] = "70000",
        }));

        Assert.Equal(3, exception.Failures.Count());
        Assert.Contains(exception.Failures, f => f.StartsWith("DeployHealth:ProbePort (environment variable DeployHealth__ProbePort) was renamed: set DeployHealth:ProbeListener:Port", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("DeployHealth:DrainDelay (environment variable DeployHealth__DrainDelay) was renamed: set DeployHealth:Drain:Delay", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("DeployHealth:Agent:Port must be a TCP port", StringComparison.Ordinal));
    }

    [Fact]
    public void Bind_EveryNewKey_SetsItsOption()
    {
        var options = Bind(new Dictionary<string, string?>
        {
            ["DeployHealth:CheckDeadline"] = "00:00:01",
            ["DeployHealth:BalancerProbeTimeout"] = "00:00:03",
            ["DeployHealth:Startup:ReadinessDelay"] = "00:00:01",
            ["DeployHealth:Startup:WarmUpLimit"] = "00:00:10",
            ["DeployHealth:Drain:Delay"] = "00:00:15",
            ["DeployHealth:Drain:Maximum"] = "00:01:05",
            ["DeployHealth:Drain:FailureThreshold"] = "2",
            ["DeployHealth:ProbeListener:Port"] = "8081",
            ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            ["DeployHealth:ProbeListener:DetailsForLoopback"] = "true",
            ["DeployHealth:Agent:Port"] = "5555",
            ["DeployHealth:Agent:Address"] = "10.0.0.5",
            ["DeployHealth:Grpc:MaxWatchStreams"] = "100",
            ["DeployHealth:Grpc:MaxWatchStreamsPerConnection"] = "4",
            ["DeployHealth:Certificates:WarnBeforeExpiry"] = "30.00:00:00",
            ["DeployHealth:Certificates:Urls:0"] = "https://api.example.com",
            ["DeployHealth:Checks:db:Deadline"] = "00:00:01",
            ["DeployHealth:Checks:redis:MinimumFailureDuration"] = "00:00:10",
            ["DeployHealth:Fleet:BoardLossTolerance"] = "00:02:00",
        });

        Assert.Equal(TimeSpan.FromSeconds(1), options.CheckDeadline);
        Assert.Equal(TimeSpan.FromSeconds(3), options.BalancerProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Startup.ReadinessDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Startup.WarmUpLimit);
        Assert.Equal(TimeSpan.FromSeconds(15), options.Drain.Delay);
        Assert.True(options.Drain.DelayIsSet);
        Assert.Equal(TimeSpan.FromSeconds(65), options.Drain.Maximum);
        Assert.Equal(2, options.Drain.FailureThreshold);
        Assert.Equal(8081, options.ProbeListener.Port);
        Assert.Equal("127.0.0.1", options.ProbeListener.Address);
        Assert.True(options.ProbeListener.DetailsForLoopback);
        Assert.Equal(5555, options.Agent.Port);
        Assert.Equal("10.0.0.5", options.Agent.Address);
        Assert.Equal(100, options.Grpc.MaxWatchStreams);
        Assert.Equal(4, options.Grpc.MaxWatchStreamsPerConnection);
        Assert.Equal(TimeSpan.FromDays(30), options.Certificates.WarnBeforeExpiry);
        Assert.Equal(["https://api.example.com"], options.Certificates.Urls);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Checks["db"].Deadline);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Checks["redis"].MinimumFailureDuration);
        Assert.Equal(TimeSpan.FromMinutes(2), options.Fleet.BoardLossTolerance);
    }

    [Fact]
    public void Table_OldKeysNameNoOptionAndNewKeysNameOne()
    {
        var problems = new List<string>();
        foreach (var (old, renamed) in RenamedKeys.Options)
        {
            Check(typeof(DeployHealthOptions), old, renamed, problems);
        }

        foreach (var (old, renamed) in RenamedKeys.Check)
        {
            Check(typeof(DeployHealthCheckOptions), old, renamed, problems);
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));

        static void Check(Type options, string old, string renamed, List<string> problems)
        {
            if (Property(options, old) is not null)
            {
                problems.Add($"{old} still binds to {options.Name}: it is not renamed");
            }

            if (Property(options, renamed) is null)
            {
                problems.Add($"{old} is renamed to {renamed}, which is no property of {options.Name}");
            }
        }
    }

    [Fact]
    public void Table_EachOldKeyOnce_AndEveryRenameTestedAbove()
    {
        var olds = RenamedKeys.Options.Select(r => r.Old).Concat(RenamedKeys.Check.Select(r => "Checks:{name}:" + r.Old)).ToList();
        Assert.Equal(olds.Count, olds.Distinct(StringComparer.OrdinalIgnoreCase).Count());

        var tested = OldKeys.Select(row => Regex.Replace(((string)row[0])["DeployHealth:".Length..], @"^Checks:\w+:", "Checks:{name}:").Replace(":0", string.Empty, StringComparison.Ordinal)).ToList();
        Assert.Equal(olds.Order(StringComparer.Ordinal), tested.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Table_IsTheOneInConfigurationMd()
    {
        var markdown = File.ReadAllText(Path.Combine(Repository(), "docs", "configuration.md"));
        var section = markdown[markdown.IndexOf("## Renamed keys", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var documented = DocumentedRename().Matches(section).Select(m => (Old: m.Groups[1].Value.Replace(":{i}", string.Empty, StringComparison.Ordinal), New: m.Groups[2].Value.Replace(":{i}", string.Empty, StringComparison.Ordinal))).ToList();
        var code = RenamedKeys.Options.Concat(RenamedKeys.Check.Select(r => ("Checks:{name}:" + r.Old, "Checks:{name}:" + r.New))).ToList();

        Assert.Equal(code.Order(), documented.Order());
    }

    /// <summary>The property a key binds to, walking nested options classes; <see langword="null"/> when it binds to none.</summary>
    private static PropertyInfo? Property(Type type, string key)
    {
        PropertyInfo? property = null;
        foreach (var part in key.Split(':'))
        {
            property = type.GetProperty(part, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                return null;
            }

            type = property.PropertyType;
        }

        return property;
    }

    private static async Task<OptionsValidationException> StartExpectingFailureAsync(Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        configure(builder);
        builder.Services.AddDeployHealth();
        using var host = builder.Build();
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    private static DeployHealthOptions Bind(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddDeployHealth();
        using var host = builder.Build();

        // Value runs the validators too: the new keys leave nothing to report.
        return host.Services.GetRequiredService<IOptions<DeployHealthOptions>>().Value;
    }

    private static string Env(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static string Repository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(directory.FullName, "docs")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No repository with a docs folder above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^\| `([^`]+)` \| `([^`]+)` \|\s*$", RegexOptions.Multiline)]
    private static partial Regex DocumentedRename();
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Configuration;

/// <summary>
/// Fail-fast configuration as a deploy sees it: the sample application started as its own process. A host that
/// stops on missing configuration must exit non-zero, say which keys (and their environment variables) in one
/// message, print no configured value, and never bind its port, so a balancer never routes to it.
/// </summary>
public sealed class RequiredConfigurationProcessTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A value of a present required key; it must not appear anywhere in the output.</summary>
    private const string Secret = "whsec_Q7vX2mN9pL4tR8kW3zY6";

    [Fact]
    public async Task Start_RequiredConfigurationMissing_ExitsBeforeBindingAndNamesEveryKey()
    {
        var run = await RunToExitAsync(new Dictionary<string, string?>
        {
            ["DeployHealth__RequiredConfiguration__0"] = "ConnectionStrings:Default",
            ["DeployHealth__RequiredConfiguration__1"] = "Payments:ApiKey",
            ["DeployHealth__RequiredConfiguration__2"] = "Payments:WebhookSecret",
            ["Payments__ApiKey"] = "   ",
            ["Payments__WebhookSecret"] = Secret,
        });

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(run.Lines, line =>
            line.Contains("ConnectionStrings:Default", StringComparison.Ordinal)
            && line.Contains("ConnectionStrings__Default", StringComparison.Ordinal)
            && line.Contains("Payments:ApiKey", StringComparison.Ordinal)
            && line.Contains("Payments__ApiKey", StringComparison.Ordinal));

        // Present keys are not reported: neither the one set here nor the sample's own Sample:SupportEmail.
        Assert.DoesNotContain("Payments:WebhookSecret", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Sample:SupportEmail", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, run.Output, StringComparison.Ordinal);
        AssertNeverListened(run);
    }

    [Fact]
    public async Task Start_SampleRequiredKeyBlank_ExitsNamingIt()
    {
        var run = await RunToExitAsync(new Dictionary<string, string?> { ["Sample__SupportEmail"] = " " });

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(run.Lines, line => line.Contains("'Sample:SupportEmail' (environment variable Sample__SupportEmail)", StringComparison.Ordinal));
        AssertNeverListened(run);
    }

    [Fact]
    public async Task Start_InvalidDeployHealthOptions_ExitsBeforeBindingAndNamesTheOption()
    {
        var run = await RunToExitAsync(new Dictionary<string, string?>
        {
            ["DeployHealth__Path"] = "health",
            ["DeployHealth__CheckDeadline"] = "-00:00:01",
        });

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(run.Lines, line =>
            line.Contains("DeployHealth:Path", StringComparison.Ordinal)
            && line.Contains("DeployHealth:CheckDeadline", StringComparison.Ordinal));
        AssertNeverListened(run);
    }

    [Fact]
    public async Task Start_ValuesAsContainersGiveThem_ExitsBeforeBindingListingEveryOneInOneMessage()
    {
        // Tried: what a container's environment gives, all strings: a bare number of seconds (read as days), values
        // the binder cannot convert, a missing required key. Each must be in the one start-up message, with both
        // spellings of its key, and the port must never open.
        var run = await RunToExitAsync(new Dictionary<string, string?>
        {
            ["DeployHealth__CheckDeadline"] = "2",
            ["DeployHealth__CacheDuration"] = "banana",
            ["DeployHealth__Agent__Port"] = "abc",
            ["DeployHealth__BackgroundEvaluation"] = "yes",
            ["DeployHealth__RequiredConfiguration__0"] = "Payments:ApiKey",
        });

        Assert.NotEqual(0, run.ExitCode);
        // The host logs the exception, then the runtime prints it unhandled: the same one line twice.
        var line = run.Lines.First(l => l.Contains("DeployHealth:CheckDeadline (environment variable DeployHealth__CheckDeadline) is the bare number '2'", StringComparison.Ordinal));
        Assert.Contains("00:00:02", line, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:CacheDuration (environment variable DeployHealth__CacheDuration) must be a duration", line, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:Agent:Port (environment variable DeployHealth__Agent__Port) must be a whole number (was 'abc')", line, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:BackgroundEvaluation (environment variable DeployHealth__BackgroundEvaluation) must be true or false (was 'yes')", line, StringComparison.Ordinal);
        Assert.Contains("'Payments:ApiKey' (environment variable Payments__ApiKey)", line, StringComparison.Ordinal);
        Assert.Contains("OptionsValidationException", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed to convert configuration value", run.Output, StringComparison.Ordinal);
        AssertNeverListened(run);
    }

    [Fact]
    public async Task Start_ConfigurationComplete_AnswersProbeWithIpHostAndRefusesPages()
    {
        var data = ServerHost.CreateTempDirectory("sample");
        try
        {
            await using var sample = SampleProcess.Start(new Dictionary<string, string?>
            {
                ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(data.FullName, "sample.db")}",
                ["ConnectionStrings__Default"] = "Host=db.internal;Database=shop",
                ["Payments__ApiKey"] = Secret,
                ["DeployHealth__RequiredConfiguration__0"] = "ConnectionStrings:Default",
                ["DeployHealth__RequiredConfiguration__1"] = "Payments:ApiKey",
                ["Sample__KeysDirectory"] = Path.Combine(data.FullName, "keys"),

                // Production's 10 s drain is for balancers; here it would only hold the test's SIGTERM.
                ["DeployHealth__Drain__Delay"] = "00:00:00",
            });
            await sample.WaitForListeningAsync(ExitTimeout);

            // What an AWS ALB sends: plain HTTP, the instance's IP address as Host.
            // Readiness includes smoke renders of the sample's pages; on a cold, busy machine the first render can miss
            // its deadline, and readiness rightly stays 503 until one passes. Wait for that, bounded.
            var probe = await RawHttp.GetAsync(sample.Address, "/health", "10.0.3.7:8080");
            for (var attempt = 0; attempt < 60 && probe.Status != 200; attempt++)
            {
                await Task.Delay(500);
                probe = await RawHttp.GetAsync(sample.Address, "/health", "10.0.3.7:8080");
            }

            var page = await RawHttp.GetAsync(sample.Address, "/", "10.0.3.7:8080");
            var notes = await RawHttp.GetAsync(sample.Address, "/Notes", "localhost");

            Assert.True(probe.Status == 200, $"{probe}\n{sample.Output}");
            Assert.True(page.Status == 400, $"{page}\n{sample.Output}");
            Assert.True(notes.Status == 200, $"{notes}\n{sample.Output}");
            Assert.Contains("counted at", notes.Body, StringComparison.Ordinal);

            var exitedOnSignal = await sample.StopAsync(TimeSpan.FromSeconds(30));
            Assert.True(exitedOnSignal, $"The sample did not stop on SIGTERM.\n{sample.Output}");
            Assert.Equal(0, sample.ExitCode);
            Assert.DoesNotContain(Secret, sample.Output, StringComparison.Ordinal);
        }
        finally
        {
            ServerHost.DeleteTempDirectory(data);
        }
    }

    private static async Task<SampleRun> RunToExitAsync(Dictionary<string, string?> environment)
    {
        await using var sample = SampleProcess.Start(environment);
        var watching = sample.WatchPortUntilExitAsync(ExitTimeout);
        var exited = await sample.WaitForExitAsync(ExitTimeout);
        var (refused, accepted) = await watching;
        Assert.True(exited, $"The sample still ran after {ExitTimeout.TotalSeconds:0} s; it is killed. Output:\n{sample.Output}");
        return new SampleRun(sample.Port, sample.ExitCode, sample.Output, refused, accepted);
    }

    private static void AssertNeverListened(SampleRun run)
    {
        Assert.True(run.Refused > 0, $"The port was never probed while the sample ran.\n{run.Output}");
        Assert.True(run.Accepted == 0, $"Port {run.Port} accepted {run.Accepted} connection(s) while the sample ran.\n{run.Output}");
        Assert.DoesNotContain(SampleProcess.ListeningLine, run.Output, StringComparison.Ordinal);
    }

    private sealed record SampleRun(int Port, int ExitCode, string Output, int Refused, int Accepted)
    {
        public string[] Lines { get; } = Output.Split('\n');
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text.RegularExpressions;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// The deploy arithmetic of the Kubernetes and ALB samples, which no test can run here: the balancer must see the
/// drain before it ends, and the orchestrator must wait longer than the drain plus the host's shutdown. Checked
/// against HealthKit's and the host's own defaults, so changing either one fails here instead of in a deploy.
/// (The HAProxy and nginx samples are run by <see cref="RollingRestartTests"/>.)
/// </summary>
public sealed class DeploySamplesTests
{
    private static readonly DeployHealthOptions Defaults = new();
    private static readonly TimeSpan ShutdownTimeout = new HostOptions().ShutdownTimeout;

    [Fact]
    public void Kubernetes_ProbesAndGracePeriod_CoverDrainAndShutdown()
    {
        var yaml = File.ReadAllText(Path.Combine(DeploySamples.Directory.FullName, "kubernetes.yaml"));
        var drain = TimeSpan.Parse(Match(yaml, @"name: DeployHealth__DrainDelay\s+value: ""([^""]+)"""), CultureInfo.InvariantCulture);
        var readiness = Block(yaml, "readinessProbe:");

        Assert.Equal("/health/ready", Match(readiness, @"path: (\S+)"));
        Assert.Equal("/health/live", Match(Block(yaml, "livenessProbe:"), @"path: (\S+)"));
        Assert.Equal("/health/live", Match(Block(yaml, "startupProbe:"), @"path: (\S+)"));
        Assert.True(Seconds(readiness, "periodSeconds") * Seconds(readiness, "failureThreshold") <= drain.TotalSeconds, "The kubelet would not see the drain before it ends.");
        Assert.True(Seconds(readiness, "timeoutSeconds") > Defaults.Timeout.TotalSeconds, "The readiness probe gives up before HealthKit's check deadline.");
        Assert.True(Seconds(yaml, "terminationGracePeriodSeconds") > (drain + ShutdownTimeout).TotalSeconds, "The pod would be killed before the drain and the shutdown end.");
    }

    [Fact]
    public void Alb_HealthCheckAndDeregistration_CoverDefaultDrain()
    {
        var tf = File.ReadAllText(Path.Combine(DeploySamples.Directory.FullName, "alb.tf"));
        var check = Block(tf, "health_check {");

        Assert.Equal("/health", Match(check, @"path\s*=\s*""([^""]+)"""));
        Assert.Equal("200", Match(check, @"matcher\s*=\s*""([^""]+)"""));
        Assert.True(Number(check, "interval") * Number(check, "unhealthy_threshold") <= Defaults.DrainMaximum.TotalSeconds, "The ALB would not see the default drain before its maximum.");
        Assert.True(Number(check, "timeout") > Defaults.Timeout.TotalSeconds && Number(check, "timeout") < Number(check, "interval"), "The timeout must lie between HealthKit's deadline and the interval.");
        Assert.True(Number(tf, "deregistration_delay") >= Defaults.DrainMaximum.TotalSeconds, "The ALB would forget the target while it still serves.");
    }

    /// <summary>The text from <paramref name="start"/> to the next line indented no deeper than it.</summary>
    private static string Block(string text, string start)
    {
        var lines = text.Split('\n');
        var first = Array.FindIndex(lines, l => l.Trim() == start);
        Assert.True(first >= 0, $"No '{start}'.");
        var indent = lines[first].Length - lines[first].TrimStart().Length;
        var block = lines.Skip(first + 1).TakeWhile(l => l.Trim().Length == 0 || l.Length - l.TrimStart().Length > indent);
        return string.Join('\n', block);
    }

    private static string Match(string text, string pattern)
    {
        var match = Regex.Match(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.True(match.Success, $"No match for {pattern} in:\n{text}");
        return match.Groups[1].Value;
    }

    private static double Seconds(string yaml, string key) => double.Parse(Match(yaml, $@"\b{key}: (\d+)"), CultureInfo.InvariantCulture);

    private static double Number(string tf, string key) => double.Parse(Match(tf, $@"\b{key}\s*=\s*(\d+)"), CultureInfo.InvariantCulture);
}

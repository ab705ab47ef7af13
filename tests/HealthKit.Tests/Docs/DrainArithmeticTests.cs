// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text.RegularExpressions;
using HealthKit.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Tests.Docs;

/// <summary>
/// The drain rule (docs/load-balancers.md, "The drain rule" and "A fixed drain: Drain:Delay") holds, with a margin, for every balancer setting a
/// user copies: each file in samples/deploy and each Kubernetes probe in docs/*.md. The balancer's worst-case time to
/// see a draining instance's 503s is interval × the failures it needs + the timeout of a check already in flight;
/// the drain (<c>DeployHealth:Drain:Delay</c> where the sample sets it, else the longest drain that follows the
/// balancers, <c>DeployHealth:Drain:Maximum</c>) must exceed it by <see cref="Margin"/>. The balancer's timeout must lie above
/// HealthKit's check deadline, and the sample must set <c>DeployHealth:BalancerProbeTimeout</c> to it. The app settings are
/// read where the sample states them: a Kubernetes <c>env</c> entry, or a <c>DeployHealth__Key=value</c> comment;
/// what is not stated is HealthKit's default. A new file in samples/deploy fails here until it has a reader.
/// </summary>
[Trait("Tier", "Fast")]
public sealed partial class DrainArithmeticTests
{
    /// <summary>What Drain:Delay must leave after the balancer's detection: the balancer's own reaction and propagation.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    private static readonly DeployHealthOptions Defaults = new();
    private static readonly TimeSpan ShutdownTimeout = new HostOptions().ShutdownTimeout;

    public static TheoryData<string> Samples
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var file in DeploySamples.Directory.GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                data.Add("samples/deploy/" + file.Name);
            }

            foreach (var (doc, number, _) in KubernetesBlocksInDocs())
            {
                data.Add($"{doc}#yaml-{number}");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_BalancerSeesTheDrainWithAMarginAndWaitsLongerThanTheCheckDeadline(string sample)
    {
        var text = Read(sample);
        var name = Path.GetFileName(sample.Split('#')[0]);
        var prober = name switch
        {
            "kubernetes.yaml" or "getting-started.md" or "load-balancers.md" or "aspire.md" => Kubernetes(text),
            "alb.tf" => Alb(text),
            "haproxy.cfg" => Haproxy(text),
            "Caddyfile" => Caddy(text),
            "apache.conf" => Apache(text),
            "varnish.vcl" => Varnish(text),
            "nginx.conf" => null,
            _ => throw new InvalidOperationException($"{sample}: no reader for this sample's balancer settings; add one here."),
        };

        if (prober is null)
        {
            // nginx open source has no active check: the drain keeps the instance serving, it does not take it out
            // (the file says so); nothing to compute, but it must not pretend to check.
            Assert.DoesNotContain("health_check", text, StringComparison.Ordinal);
            Assert.Contains("fail_timeout", text, StringComparison.Ordinal);
            return;
        }

        var settings = AppSettings(text);
        // A sample that sets Drain:Delay drains exactly that long; one that does not drains until the balancers have
        // let go, at most Drain:Maximum, so Drain:Maximum must cover the detection and the orchestrator must wait for it.
        var drain = settings.ContainsKey("Drain:Delay")
            ? Setting(settings, "Drain:Delay", TimeSpan.Zero)
            : Setting(settings, "Drain:Maximum", Defaults.Drain.Maximum);
        var deadline = Setting(settings, "CheckDeadline", Defaults.CheckDeadline);
        var probeTimeout = Setting(settings, "BalancerProbeTimeout", Defaults.BalancerProbeTimeout);
        var detection = (prober.Interval * prober.Failures) + prober.Timeout;

        Assert.True(
            detection + Margin <= drain,
            $"{sample}: the balancer sees the drain within {prober.Interval.TotalSeconds:0.###} s x {prober.Failures} + {prober.Timeout.TotalSeconds:0.###} s = {detection.TotalSeconds:0.###} s; the drain ({drain.TotalSeconds:0.###} s, Drain:Delay or else Drain:Maximum) must exceed that by {Margin.TotalSeconds:0} s.");
        Assert.True(prober.Timeout > deadline, $"{sample}: the balancer's timeout ({prober.Timeout.TotalSeconds:0.###} s) must lie above HealthKit's check deadline, DeployHealth:CheckDeadline ({deadline.TotalSeconds:0.###} s).");
        Assert.True(probeTimeout == prober.Timeout, $"{sample}: DeployHealth:BalancerProbeTimeout ({probeTimeout.TotalSeconds:0.###} s) must be the balancer's timeout ({prober.Timeout.TotalSeconds:0.###} s), so HealthKit can check its deadlines against it.");

        if (prober.StopWait is { } stopWait)
        {
            Assert.True(stopWait > drain + ShutdownTimeout, $"{sample}: the process is killed after {stopWait.TotalSeconds:0} s, before the drain ({drain.TotalSeconds:0} s) and the host's shutdown ({ShutdownTimeout.TotalSeconds:0} s) end.");
        }

        if (prober.KeepsSending is { } keepsSending)
        {
            Assert.True(keepsSending >= drain, $"{sample}: the balancer forgets the target after {keepsSending.TotalSeconds:0} s while it still serves for {drain.TotalSeconds:0} s.");
        }
    }

    /// <summary>A balancer's active check: how often, how many failures to take an instance out, how long it waits for one.</summary>
    private sealed record Prober(TimeSpan Interval, int Failures, TimeSpan Timeout, TimeSpan? StopWait = null, TimeSpan? KeepsSending = null);

    private static Prober Kubernetes(string yaml)
    {
        var readiness = Block(yaml, "readinessProbe:");
        if (!readiness.Contains("grpc:", StringComparison.Ordinal))
        {
            Assert.Equal("/health/ready", Match(readiness, @"path: (\S+)"));
        }

        var grace = Regex.Match(yaml, @"\bterminationGracePeriodSeconds: (\d+)", RegexOptions.None, TimeSpan.FromSeconds(1));
        return new Prober(
            TimeSpan.FromSeconds(Number(readiness, @"\bperiodSeconds: (\d+)")),
            (int)Number(readiness, @"\bfailureThreshold: (\d+)"),
            TimeSpan.FromSeconds(Number(readiness, @"\btimeoutSeconds: (\d+)")),
            StopWait: TimeSpan.FromSeconds(grace.Success ? double.Parse(grace.Groups[1].Value, CultureInfo.InvariantCulture) : 30));
    }

    private static Prober Alb(string tf)
    {
        var check = Block(tf, "health_check {");
        Assert.Equal("/health", Match(check, @"path\s*=\s*""([^""]+)"""));
        Assert.Equal("200", Match(check, @"matcher\s*=\s*""([^""]+)"""));
        Assert.True(Number(check, @"\btimeout\s*=\s*(\d+)") < Number(check, @"\binterval\s*=\s*(\d+)"), "The ALB wants its timeout below its interval.");
        return new Prober(
            TimeSpan.FromSeconds(Number(check, @"\binterval\s*=\s*(\d+)")),
            (int)Number(check, @"\bunhealthy_threshold\s*=\s*(\d+)"),
            TimeSpan.FromSeconds(Number(check, @"\btimeout\s*=\s*(\d+)")),
            KeepsSending: TimeSpan.FromSeconds(Number(tf, @"\bderegistration_delay\s*=\s*(\d+)")));
    }

    private static Prober Haproxy(string cfg) => new(
        Duration(Match(cfg, @"(?m)^\s*default-server .*\binter (\d+\w*)"), "ms"),
        (int)Number(cfg, @"(?m)^\s*default-server .*\bfall (\d+)"),
        Duration(Match(cfg, @"(?m)^\s*timeout check (\d+\w*)"), "ms"));

    private static Prober Caddy(string caddyfile)
    {
        // Directives only, not the arithmetic in the comments.
        var fails = Regex.Match(caddyfile, @"(?m)^\s*health_fails (\d+)", RegexOptions.None, TimeSpan.FromSeconds(1));
        return new Prober(
            Duration(Match(caddyfile, @"(?m)^\s*health_interval (\S+)"), "s"),
            fails.Success ? int.Parse(fails.Groups[1].Value, CultureInfo.InvariantCulture) : 1,
            Duration(Match(caddyfile, @"(?m)^\s*health_timeout (\S+)"), "s"));
    }

    private static Prober Apache(string conf)
    {
        var member = Match(conf, @"(BalancerMember .*)");
        return new Prober(
            TimeSpan.FromSeconds(Number(member, @"\bhcinterval=(\d+)")),
            (int)Number(member, @"\bhcfails=(\d+)"),
            TimeSpan.FromSeconds(Number(member, @"\btimeout=(\d+)")));
    }

    private static Prober Varnish(string vcl)
    {
        var probe = Match(vcl, @"(?s)probe \w+ \{(.*?)\}");

        // Sick once fewer than .threshold of the last .window probes passed: from a full window, after window - threshold + 1 failures.
        var failures = (int)(Number(probe, @"\.window = (\d+);") - Number(probe, @"\.threshold = (\d+);") + 1);
        return new Prober(Duration(Match(probe, @"\.interval = (\S+);"), "s"), failures, Duration(Match(probe, @"\.timeout = (\S+);"), "s"));
    }

    /// <summary>
    /// The sample's <c>DeployHealth__Key</c> settings (<c>DeployHealth__Drain__Delay</c> read as <c>Drain:Delay</c>):
    /// Kubernetes <c>env</c> entries and <c>DeployHealth__Key=value</c> in comments.
    /// </summary>
    private static Dictionary<string, string> AppSettings(string text)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in EnvEntry().Matches(text))
        {
            settings[match.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal)] = match.Groups[2].Value;
        }

        foreach (Match match in Assignment().Matches(text))
        {
            settings[match.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal)] = match.Groups[2].Value;
        }

        return settings;
    }

    private static TimeSpan Setting(Dictionary<string, string> settings, string key, TimeSpan fallback) =>
        settings.TryGetValue(key, out var value) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static string Read(string sample)
    {
        var parts = sample.Split('#');
        if (parts.Length == 1)
        {
            return File.ReadAllText(Path.Combine(DeploySamples.Directory.FullName, Path.GetFileName(sample)));
        }

        var number = int.Parse(parts[1]["yaml-".Length..], CultureInfo.InvariantCulture);
        return KubernetesBlocksInDocs().Single(b => b.Doc == parts[0] && b.Number == number).Code;
    }

    /// <summary>Every <c>```yaml</c> block in docs/*.md with a readiness probe: what a reader copies into a Deployment.</summary>
    private static IEnumerable<(string Doc, int Number, string Code)> KubernetesBlocksInDocs()
    {
        var docs = Path.Combine(DeploySamples.Directory.Parent!.Parent!.FullName, "docs");
        foreach (var path in Directory.GetFiles(docs, "*.md").Order(StringComparer.Ordinal))
        {
            var number = 0;
            foreach (Match block in YamlBlock().Matches(File.ReadAllText(path)))
            {
                number++;
                if (block.Groups[1].Value.Contains("readinessProbe:", StringComparison.Ordinal))
                {
                    yield return ("docs/" + Path.GetFileName(path), number, block.Groups[1].Value);
                }
            }
        }
    }

    /// <summary>A duration as balancers write it: <c>500</c> (in <paramref name="unit"/>), <c>500ms</c>, <c>3s</c>, <c>1m</c>.</summary>
    private static TimeSpan Duration(string text, string unit)
    {
        var match = Regex.Match(text, @"^(\d+(?:\.\d+)?)(ms|s|m)?$", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.True(match.Success, $"Not a duration: '{text}'.");
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return (match.Groups[2].Success ? match.Groups[2].Value : unit) switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            _ => TimeSpan.FromMinutes(value),
        };
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

    private static double Number(string text, string pattern) => double.Parse(Match(text, pattern), CultureInfo.InvariantCulture);

    [GeneratedRegex(@"name: DeployHealth__(\w+)\s+value: ""([^""]+)""")]
    private static partial Regex EnvEntry();

    [GeneratedRegex(@"\bDeployHealth__(\w+)=(\d[\d:.]*)")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"(?ms)^[ \t]*```yaml[ \t]*\n(.*?)^[ \t]*```")]
    private static partial Regex YamlBlock();
}

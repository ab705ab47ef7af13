// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>
/// What HealthKit knows about each kind of prober: how to recognise it from a request, how many failing answers take
/// an instance out with the balancer's defaults, and what to configure when it probes the wrong path. The defaults
/// are the documented ones (docs/load-balancers.md); <c>DeployHealth:Drain:FailureThreshold</c> overrides them.
/// </summary>
internal static class ProberKinds
{
    /// <summary>
    /// The kind a <c>User-Agent</c> names, for the probers recognised on any path (the app's too): only identities no
    /// browser or ordinary client sends. <c>Go-http-client</c> is every Go program, so it counts only on HealthKit's paths.
    /// </summary>
    public static ProberKind ByUserAgent(ReadOnlySpan<char> userAgent)
    {
        // One character first: a browser's "Mozilla/5.0 ..." and most clients leave here.
        if (userAgent.IsEmpty)
        {
            return ProberKind.Unknown;
        }

        return userAgent[0] switch
        {
            'E' when userAgent.StartsWith("ELB-HealthChecker/", StringComparison.Ordinal) => ProberKind.AwsElb,
            'k' when userAgent.StartsWith("kube-probe/", StringComparison.Ordinal) => ProberKind.Kubernetes,
            'G' when userAgent.StartsWith("GoogleHC/", StringComparison.Ordinal) => ProberKind.GoogleCloud,
            _ => ProberKind.Unknown,
        };
    }

    /// <summary>Recognises a probe on one of HealthKit's doors from the parts of the request that tell probers apart.</summary>
    /// <param name="userAgent">The <c>User-Agent</c>, empty when absent.</param>
    /// <param name="shape">How the request was framed.</param>
    public static ProberKind Classify(ReadOnlySpan<char> userAgent, ProbeShape shape)
    {
        var known = ByUserAgent(userAgent);
        if (known != ProberKind.Unknown)
        {
            return known;
        }

        if (userAgent.StartsWith("Go-http-client/", StringComparison.Ordinal))
        {
            return ProberKind.GoHttp;
        }

        if (!userAgent.IsEmpty)
        {
            return ProberKind.Unknown;
        }

        // HAProxy sends HTTP/1.0 without Host unless told otherwise, and its "http-check send ... ver HTTP/1.1" without
        // "hdr host" is HTTP/1.1 without Host; Varnish sends HTTP/1.1 with Host and Connection: close.
        if ((shape & ProbeShape.NoHost) != 0)
        {
            return ProberKind.Haproxy;
        }

        return (shape & (ProbeShape.Http10 | ProbeShape.ConnectionClose)) == ProbeShape.ConnectionClose ? ProberKind.Varnish : ProberKind.Unknown;
    }

    /// <summary>Whether a prober of this kind is recognised on the app's own paths, where it may be warned about.</summary>
    public static bool IsRecognisedAnywhere(ProberKind kind) =>
        kind is ProberKind.AwsElb or ProberKind.Kubernetes or ProberKind.GoogleCloud or ProberKind.Haproxy;

    /// <summary>
    /// Failing answers in a row after which the balancer takes the instance out, with its defaults: ALB's unhealthy
    /// threshold 2; the kubelet's failureThreshold 3; Google Cloud's unhealthy threshold 2; HAProxy's <c>fall 3</c>; the
    /// agent's <c>drain</c> or <c>down</c> at once; Varnish's window 8 and threshold 3 (sick after 6 failures of 8);
    /// Caddy's <c>fails 1</c>, counted as 3 since other Go checkers send the same identity; an unknown prober 3.
    /// </summary>
    public static int DefaultFailureThreshold(ProberKind kind) => kind switch
    {
        ProberKind.AwsElb => 2,
        ProberKind.GoogleCloud => 2,
        ProberKind.HaproxyAgent => 1,
        ProberKind.Varnish => 6,
        _ => 3,
    };

    /// <summary>The interval a prober of this kind uses by default, until its own is observed.</summary>
    public static TimeSpan DefaultInterval(ProberKind kind) => kind switch
    {
        ProberKind.AwsElb => TimeSpan.FromSeconds(30),
        ProberKind.Kubernetes => TimeSpan.FromSeconds(10),
        ProberKind.GoogleCloud => TimeSpan.FromSeconds(5),
        ProberKind.Haproxy or ProberKind.HaproxyAgent => TimeSpan.FromSeconds(2),
        ProberKind.Varnish => TimeSpan.FromSeconds(5),
        ProberKind.GoHttp => TimeSpan.FromSeconds(30),
        _ => TimeSpan.FromSeconds(10),
    };

    public static string Name(ProberKind kind) => kind switch
    {
        ProberKind.AwsElb => "AWS load balancer",
        ProberKind.Kubernetes => "Kubernetes kubelet",
        ProberKind.GoogleCloud => "Google Cloud load balancer",
        ProberKind.Haproxy => "HAProxy",
        ProberKind.HaproxyAgent => "HAProxy agent-check",
        ProberKind.Varnish => "Varnish",
        ProberKind.GoHttp => "Go HTTP client (Caddy)",
        _ => "unknown prober",
    };

    /// <summary>What to configure instead, for a prober of this kind that probes <c>path</c> rather than HealthKit's readiness path.</summary>
    public static string Advice(ProberKind kind, string readinessPath) => kind switch
    {
        ProberKind.AwsElb => $"set the target group's health check path to {readinessPath} (success codes 200)",
        ProberKind.Kubernetes => $"set readinessProbe.httpGet.path to {readinessPath} (and livenessProbe.httpGet.path to {readinessPath}/live)",
        ProberKind.GoogleCloud => $"set the health check's request path to {readinessPath}",
        ProberKind.Haproxy => $"use \"option httpchk GET {readinessPath}\" and \"http-check expect status 200\"",
        _ => $"probe {readinessPath}",
    };
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>Which balancer or orchestrator a probe comes from, as far as the request shows it.</summary>
internal enum ProberKind
{
    /// <summary>Something probes HealthKit's paths without a form HealthKit knows (curl, a script, a custom checker).</summary>
    Unknown,

    /// <summary><c>User-Agent: ELB-HealthChecker/2.0</c>: an AWS Application, Network or Classic Load Balancer.</summary>
    AwsElb,

    /// <summary><c>User-Agent: kube-probe/1.x</c>: the kubelet.</summary>
    Kubernetes,

    /// <summary><c>User-Agent: GoogleHC/1.0</c>: a Google Cloud load balancer.</summary>
    GoogleCloud,

    /// <summary>HTTP/1.0 with no <c>Host</c> and no <c>User-Agent</c>, or HTTP/1.1 without <c>Host</c>: HAProxy's <c>option httpchk</c> and <c>http-check send</c>.</summary>
    Haproxy,

    /// <summary>A connection to HealthKit's <c>agent-check</c> listener.</summary>
    HaproxyAgent,

    /// <summary>HTTP/1.1 with <c>Connection: close</c> and no <c>User-Agent</c>: a Varnish <c>.probe</c>.</summary>
    Varnish,

    /// <summary><c>User-Agent: Go-http-client/1.1</c>: Caddy's active health checks, or another Go checker.</summary>
    GoHttp,
}

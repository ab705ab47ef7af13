// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Balancers;

namespace HealthKit.Tests.Balancers;

[Trait("Tier", "Fast")]
public sealed class ProberLedgerTests
{
    [Theory]
    [InlineData("ELB-HealthChecker/2.0", (int)(ProbeShape.None), (int)ProberKind.AwsElb)]
    [InlineData("kube-probe/1.31", (int)(ProbeShape.None), (int)ProberKind.Kubernetes)]
    [InlineData("GoogleHC/1.0", (int)(ProbeShape.None), (int)ProberKind.GoogleCloud)]
    [InlineData("Go-http-client/1.1", (int)(ProbeShape.None), (int)ProberKind.GoHttp)]
    [InlineData("", (int)(ProbeShape.Http10 | ProbeShape.NoHost), (int)ProberKind.Haproxy)]
    [InlineData("", (int)(ProbeShape.NoHost), (int)ProberKind.Haproxy)]
    [InlineData("", (int)(ProbeShape.ConnectionClose), (int)ProberKind.Varnish)]
    [InlineData("curl/8.5.0", (int)(ProbeShape.None), (int)ProberKind.Unknown)]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", (int)(ProbeShape.None), (int)ProberKind.Unknown)]
    public void Record_RequestForm_RecognisesTheProber(string userAgent, int shape, int expected)
    {
        var fakes = new BalancerFakes();

        fakes.Probe(userAgent, "/health", 200, shape: (ProbeShape)shape);

        Assert.Equal((ProberKind)expected, Assert.Single(fakes.Ledger.Snapshot()).Kind);
    }

    [Fact]
    public void Record_RegularProbes_LearnsIntervalLastAnswerAndFailuresInARow()
    {
        var fakes = new BalancerFakes();
        for (var i = 0; i < 4; i++)
        {
            fakes.Probe("ELB-HealthChecker/2.0", "/health", 200, TimeSpan.FromSeconds(5));
        }

        fakes.Probe("ELB-HealthChecker/2.0", "/health", 503, TimeSpan.FromSeconds(5));
        fakes.Probe("ELB-HealthChecker/2.0", "/health", 503, TimeSpan.FromSeconds(1));

        var prober = Assert.Single(fakes.Ledger.Snapshot());
        Assert.Equal(ProberKind.AwsElb, prober.Kind);
        Assert.Equal(BalancerFakes.Balancer, prober.Peer);
        Assert.Equal("/health", prober.Path);
        Assert.Equal(6, prober.Count);
        Assert.Equal(TimeSpan.FromSeconds(5), prober.Interval);
        Assert.Equal(503, prober.LastStatus);
        Assert.Equal(2, prober.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(1), prober.SinceLastSeen);
    }

    [Fact]
    public void Record_PassingAnswerAfterFailures_StartsTheCountAgain()
    {
        var fakes = new BalancerFakes();
        fakes.Probe("", "/health", 503, shape: ProbeShape.Http10 | ProbeShape.NoHost);
        fakes.Probe("", "/health", 503, shape: ProbeShape.Http10 | ProbeShape.NoHost);
        fakes.Probe("", "/health", 200, shape: ProbeShape.Http10 | ProbeShape.NoHost);

        Assert.Equal(0, Assert.Single(fakes.Ledger.Snapshot()).ConsecutiveFailures);
    }

    [Fact]
    public void Record_DifferentPeersPathsAndAgents_AreDifferentProbers()
    {
        var fakes = new BalancerFakes();
        fakes.Probe("ELB-HealthChecker/2.0", "/health", 200);
        fakes.Probe("ELB-HealthChecker/2.0", "/health", 200, peer: IPAddress.Parse("10.0.1.5"));
        fakes.Probe("ELB-HealthChecker/2.0", "/health/live", 200, role: ProberRole.Liveness);
        fakes.Probe("kube-probe/1.31", "/health", 200);

        Assert.Equal(4, fakes.Ledger.Snapshot().Length);
    }

    [Fact]
    public void Record_FloodOfSpoofedUserAgents_StaysBoundedAndKeepsTheEstablishedProbers()
    {
        var fakes = new BalancerFakes();
        for (var i = 0; i < 5; i++)
        {
            fakes.Probe("ELB-HealthChecker/2.0", "/health", 200, TimeSpan.FromSeconds(1));
            fakes.Probe("", "/health", 200, shape: ProbeShape.Http10 | ProbeShape.NoHost);
        }

        for (var i = 0; i < 100_000; i++)
        {
            // Long, distinct identities: each is cut to 128 characters and at most Capacity are ever kept.
            fakes.Probe($"ELB-HealthChecker/2.0 {i} {new string('x', 500)}", $"/health?{i}", 200, peer: new IPAddress(i + 1));
        }

        var probers = fakes.Ledger.Snapshot();
        Assert.Equal(ProberLedger.Capacity, probers.Length);
        Assert.Contains(probers, p => p.UserAgent == "ELB-HealthChecker/2.0" && p.Count == 5);
        Assert.Contains(probers, p => p.Kind == ProberKind.Haproxy && p.Count == 5);
        Assert.All(probers, p => Assert.True(p.UserAgent.Length <= 128 && p.Path.Length <= 128));

        // Memory is bounded by construction: at most Capacity entries of at most 128 + 128 characters. (Not measured
        // with GC.GetTotalMemory: tests running beside this one allocate too.)
    }

    [Fact]
    public void Record_KnownProber_AllocatesNothing()
    {
        var fakes = new BalancerFakes();
        var userAgent = "ELB-HealthChecker/2.0";
        var path = "/health";
        fakes.Probe(userAgent, path, 200);
        fakes.Probe(userAgent, path, 200);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            fakes.Ledger.Record(ProberDoor.Http, BalancerFakes.Balancer, userAgent, path, ProbeShape.None, 200, ProberRole.Readiness);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Record_KnownProberFromWireBytes_AllocatesNothing()
    {
        var fakes = new BalancerFakes();
        var userAgent = "kube-probe/1.31"u8.ToArray();
        var path = "/health/live"u8.ToArray();
        fakes.Ledger.Record(ProberDoor.ProbePort, BalancerFakes.Balancer, userAgent, path, ProbeShape.None, 200, ProberRole.Liveness);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            fakes.Ledger.Record(ProberDoor.ProbePort, BalancerFakes.Balancer, userAgent, path, ProbeShape.None, 200, ProberRole.Liveness);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var prober = Assert.Single(fakes.Ledger.Snapshot());
        Assert.Equal(ProberKind.Kubernetes, prober.Kind);
        Assert.Equal("kube-probe/1.31", prober.UserAgent);
        Assert.Equal(1001, prober.Count);
    }

    [Fact]
    public void Record_KnownProberFromARequest_AllocatesNothing()
    {
        var fakes = new BalancerFakes();
        var context = BalancerFakes.Request("GET", "/health", "HTTP/1.1", ("Host", "10.0.0.7:8080"), ("User-Agent", "ELB-HealthChecker/2.0"));
        fakes.Ledger.Record(ProberDoor.Http, context, 200, ProberRole.Readiness);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            fakes.Ledger.Record(ProberDoor.Http, context, 200, ProberRole.Readiness);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var prober = Assert.Single(fakes.Ledger.Snapshot());
        Assert.Equal(ProberKind.AwsElb, prober.Kind);
        Assert.Equal(1001, prober.Count);
    }

    [Fact]
    public void Record_NewcomerFromARequest_ClassifiedByItsFraming()
    {
        var fakes = new BalancerFakes();

        // HAProxy's "option httpchk GET /health": HTTP/1.0, no header at all; Varnish: Host and Connection: close.
        fakes.Ledger.Record(ProberDoor.Http, BalancerFakes.Request("GET", "/health", "HTTP/1.0"), 200, ProberRole.Readiness);
        fakes.Ledger.Record(ProberDoor.Http, BalancerFakes.Request("GET", "/health/live", "HTTP/1.1", ("Host", "app"), ("Connection", "close")), 200, ProberRole.Liveness);

        var probers = fakes.Ledger.Snapshot();
        Assert.Contains(probers, p => p.Kind == ProberKind.Haproxy && p.Path == "/health");
        Assert.Contains(probers, p => p.Kind == ProberKind.Varnish && p.Path == "/health/live");
    }

    [Fact]
    public void Record_ConcurrentProbesOfOneProber_EveryProbeCountedOnce()
    {
        var fakes = new BalancerFakes();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                fakes.Ledger.Record(ProberDoor.Http, BalancerFakes.Balancer, "kube-probe/1.31", "/health", ProbeShape.None, i % 2 == 0 ? 200 : 503, ProberRole.Readiness);
            }
        });

        Assert.Equal(40_000, Assert.Single(fakes.Ledger.Snapshot()).Count);
    }

    [Fact]
    public void OpenStream_AnswersCountedNoIntervalLearnt_ClosedOnDispose()
    {
        var fakes = new BalancerFakes();
        var context = BalancerFakes.Request("POST", "/grpc.health.v1.Health/Watch", "HTTP/2", ("User-Agent", "grpc-go/1.66.0"));

        var stream = fakes.Ledger.OpenStream(ProberDoor.Grpc, context, 200, ProberRole.Readiness, "Watch readiness");
        Assert.NotNull(stream);
        fakes.Time.Advance(TimeSpan.FromMinutes(10));
        stream.Answered(503);
        fakes.Time.Advance(TimeSpan.FromMinutes(10));

        var open = Assert.Single(fakes.Ledger.Snapshot());
        Assert.Equal(ProberDoor.Grpc, open.Door);
        Assert.Equal("grpc-go/1.66.0", open.UserAgent);
        Assert.Equal("Watch readiness", open.Path);
        Assert.Equal(2, open.Count);
        Assert.Equal(503, open.LastStatus);
        Assert.Equal(1, open.ConsecutiveFailures);
        Assert.Equal(TimeSpan.Zero, open.Interval);
        Assert.True(open.Streamed);
        Assert.True(open.Listening);

        stream.Dispose();
        stream.Dispose();
        Assert.Equal(0, Assert.Single(fakes.Ledger.Snapshot()).OpenStreams);
    }

    [Fact]
    public void OpenStream_FloodOfSpoofedIdentities_OpenStreamKeepsItsPlace()
    {
        var fakes = new BalancerFakes();
        var context = BalancerFakes.Request("POST", "/grpc.health.v1.Health/Watch", "HTTP/2", ("User-Agent", "grpc-go/1.66.0"));
        using var stream = fakes.Ledger.OpenStream(ProberDoor.Grpc, context, 200, ProberRole.Readiness, "Watch readiness");

        for (var i = 0; i < 10_000; i++)
        {
            fakes.Probe($"spoofed/{i}", "/health", 200, peer: new IPAddress(i + 1));
        }

        var probers = fakes.Ledger.Snapshot();
        Assert.Equal(ProberLedger.Capacity, probers.Length);
        Assert.Contains(probers, p => p.Streamed && p.Listening);
    }

    [Fact]
    public void ObserveRequest_BrowserAndOrdinaryClients_CountAsTrafficAndAreNotWatched()
    {
        var fakes = new BalancerFakes();
        var browser = BalancerFakes.Request("GET", "/healthcheck", "HTTP/1.1", ("Host", "shop.example"), ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"));
        var preflight = BalancerFakes.Request("OPTIONS", "/", "HTTP/1.1", ("Host", "shop.example"), ("Origin", "https://other.example"));

        fakes.Ledger.ObserveRequest(browser);
        fakes.Ledger.ObserveRequest(preflight);

        Assert.Equal(2, fakes.Ledger.Requests);
    }

    [Fact]
    public void ObserveRequest_KnownProber_IsNotTraffic()
    {
        var fakes = new BalancerFakes();

        fakes.Ledger.ObserveRequest(BalancerFakes.Request("GET", "/healthcheck", "HTTP/1.1", ("Host", "10.0.0.7:8080"), ("User-Agent", "ELB-HealthChecker/2.0")));
        fakes.Ledger.ObserveRequest(BalancerFakes.Request("OPTIONS", "/", "HTTP/1.0"));

        Assert.Equal(0, fakes.Ledger.Requests);
    }
}

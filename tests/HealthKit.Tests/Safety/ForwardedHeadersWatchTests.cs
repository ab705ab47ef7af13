// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Safety;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Safety;

/// <summary>
/// The forwarded-headers verdict against requests a client chooses: each request goes through the real
/// ForwardedHeadersMiddleware with the app's options, from the peer address and connection the test sets (a public
/// peer cannot be had on loopback; DeploySafetyTests runs the real nginx case).
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ForwardedHeadersWatchTests
{
    private const string Proxy = "10.0.0.5";
    private const string Public = "203.0.113.9";

    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogger<ForwardedHeadersWatch> _logger = new();

    private sealed record Watched(ForwardedHeadersWatch Watch, RequestDelegate Pipeline);

    /// <summary>An app whose options declare <see cref="Proxy"/> unless <paramref name="declareProxy"/> is false.</summary>
    private Watched Create(Action<ForwardedHeadersOptions>? configure = null, bool declareProxy = true)
    {
        var options = new ForwardedHeadersOptions();
        if (declareProxy)
        {
            options.KnownProxies.Add(IPAddress.Parse(Proxy));
        }

        configure?.Invoke(options);
        var wrapped = Options.Create(options);
        var middleware = new ForwardedHeadersMiddleware(static _ => Task.CompletedTask, NullLoggerFactory.Instance, wrapped);
        return new Watched(new ForwardedHeadersWatch(_logger, _time, wrapped), middleware.Invoke);
    }

    private static async Task SendAsync(Watched app, string peer, string connection, string headers)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        context.Connection.Id = connection;
        foreach (var line in headers.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            context.Request.Headers.Append(line[..colon], line[(colon + 1)..].Trim());
        }

        // As ProbeMiddleware calls it for every request that is not a probe.
        await (app.Watch.ShouldObserve(context) ? app.Watch.ObserveAsync(context, app.Pipeline) : app.Pipeline(context));
    }

    /// <summary>Sends <paramref name="count"/> requests, spread round-robin over <paramref name="connections"/> connections.</summary>
    private static async Task SendManyAsync(Watched app, int count, int connections, string peer = Proxy, string headers = "X-Forwarded-Proto: https\r\nX-Forwarded-For: 198.51.100.4\r\n")
    {
        for (var i = 0; i < count; i++)
        {
            await SendAsync(app, peer, "conn-" + (i % connections), headers);
        }
    }

    private static async Task<HealthCheckResult> CheckAsync(Watched app) =>
        await new ForwardedHeadersHealthCheck(app.Watch).CheckHealthAsync(new HealthCheckContext());

    private int Warnings => _logger.Collector.GetSnapshot().Count(r => r.Id.Name == "ForwardedHeadersNotApplied");

    private int Hints => _logger.Collector.GetSnapshot().Count(r => r.Id.Name == "ForwardedHeadersFromUndeclaredPeer");

    [Fact]
    public async Task Observe_OneRequestWithForwardedProto_StaysHealthy()
    {
        // Tried: the first attack, one request with X-Forwarded-Proto to an app without UseForwardedHeaders,
        // from loopback (a same-host forwarder would bring any client in from there).
        var app = Create();

        await SendAsync(app, "127.0.0.1", "attacker", "X-Forwarded-Proto: https\r\n");

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
        Assert.Equal(0, Warnings);
    }

    [Fact]
    public async Task Observe_ManyRequestsFromPublicAddress_StaysHealthy()
    {
        // Tried: 50 requests over 10 connections, straight from an internet address: not a proxy, never judged.
        var app = Create();

        await SendManyAsync(app, 50, 10, Public);

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
        Assert.Equal(0, Warnings);
    }

    [Fact]
    public async Task Observe_FiveRequestsOverOneConnection_StaysHealthy()
    {
        // Tried: one client keeping one connection and sending the evidence a balancer would send.
        var app = Create();

        await SendManyAsync(app, 20, 1);

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_FiveRequestsOverThreeConnections_DegradedLoggedOnce_ExpiresWithoutEvidence()
    {
        var app = Create();

        await SendManyAsync(app, ForwardedHeadersWatch.RequestsRequired - 1, ForwardedHeadersWatch.ConnectionsRequired);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);

        await SendManyAsync(app, 1 + 20, ForwardedHeadersWatch.ConnectionsRequired);
        var degraded = await CheckAsync(app);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains(Proxy, degraded.Description);
        Assert.Contains("KnownProxies", degraded.Description);
        Assert.Equal(1, Warnings);

        // Still forwarded and still ignored: the finding stays as long as the proxy keeps sending.
        _time.Advance(ForwardedHeadersWatch.EvidenceLifetime - TimeSpan.FromMinutes(1));
        await SendManyAsync(app, 1, 1);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);

        // Nothing more for longer than the evidence lasts: the verdict is not "until restart".
        _time.Advance(ForwardedHeadersWatch.EvidenceLifetime + TimeSpan.FromSeconds(1));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);

        // A new episode needs new evidence and is logged again.
        await SendManyAsync(app, 1, 1);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
        await SendManyAsync(app, ForwardedHeadersWatch.RequestsRequired, ForwardedHeadersWatch.ConnectionsRequired);
        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);
        Assert.Equal(2, Warnings);
    }

    [Fact]
    public async Task Observe_EvidenceSpreadBeyondItsLifetime_StaysHealthy()
    {
        // Tried: one request every 16 minutes, each on a new connection: evidence that old no longer counts.
        var app = Create();

        for (var i = 0; i < 10; i++)
        {
            await SendAsync(app, Proxy, "conn-" + i, "X-Forwarded-Proto: https\r\n");
            _time.Advance(ForwardedHeadersWatch.EvidenceLifetime + TimeSpan.FromMinutes(1));
        }

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_ForgedOriginalForFirst_MisconfigurationStillReported()
    {
        // Tried: the second attack, a first request carrying X-Original-For (what ForwardedHeadersMiddleware
        // writes after applying) so the watch would take the app for configured. A real misconfiguration follows.
        var app = Create();

        await SendAsync(app, "127.0.0.1", "attacker", "X-Forwarded-For: 198.51.100.4\r\nX-Original-For: 10.0.0.1:5000\r\nX-Original-Proto: http\r\n");
        await SendManyAsync(app, ForwardedHeadersWatch.RequestsRequired, ForwardedHeadersWatch.ConnectionsRequired);

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_ForgedOriginalHeadersOnEveryRequest_StillIgnoredAndReported()
    {
        // Tried: a proxy (or a client through it) that also sends X-Original-*: their presence proves nothing.
        var app = Create();

        await SendManyAsync(app, 10, 3, headers: "X-Forwarded-Proto: https\r\nX-Original-Proto: http\r\nX-Original-For: 10.0.0.1:5000\r\n");

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_TrustedProxyApplied_StaysHealthy()
    {
        // Loopback is in ForwardedHeadersOptions' default KnownIPNetworks.
        var app = Create(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);

        await SendManyAsync(app, 30, 5, "127.0.0.1");

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
        Assert.Equal(0, Warnings);
    }

    [Fact]
    public async Task Observe_FlagsSetButPeerNotDeclared_StaysHealthy_HintLoggedOnce()
    {
        // Tried: a private peer the app did not declare (a layer-4 balancer's SNAT address, a Kubernetes node) bringing
        // forwarded headers the app ignores. They may be any client's own: no finding, one hint.
        var app = Create(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, declareProxy: false);

        await SendManyAsync(app, 30, 10);

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
        Assert.Equal(0, Warnings);
        Assert.Equal(1, Hints);
    }

    [Theory]
    [InlineData("X-Forwarded-For: not-an-address\r\n")]
    [InlineData("X-Forwarded-For: 198.51.100.4, garbage\r\n")]
    [InlineData("X-Forwarded-Proto: javascript\r\n")]
    [InlineData("X-Forwarded-For: 198.51.100.4\r\nX-Forwarded-Proto: ftp\r\n")]
    public async Task Observe_MalformedValuesFromDeclaredProxy_StaysHealthy(string headers)
    {
        // Tried: values no proxy writes (it appends an address, a scheme), as a client sends them through a declared
        // proxy that passes headers on; the middleware would not apply them either, whatever the configuration.
        var app = Create();

        await SendManyAsync(app, 30, 10, headers: headers);

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_HeaderNamesFromForwardedHeadersOptions_CustomNameJudged()
    {
        var app = Create(o => o.ForwardedProtoHeaderName = "X-Scheme");

        await SendManyAsync(app, 10, 3, headers: "X-Scheme: https\r\n");

        var result = await CheckAsync(app);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("X-Scheme", result.Description);
    }

    [Fact]
    public async Task Observe_CustomNameAppliedByApp_StaysHealthy()
    {
        var app = Create(o =>
        {
            o.ForwardedProtoHeaderName = "X-Scheme";
            o.ForwardedHeaders = ForwardedHeaders.XForwardedProto;
            o.KnownProxies.Add(IPAddress.Parse(Proxy));
        });

        await SendManyAsync(app, 10, 3, headers: "X-Scheme: https\r\n");

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_PublicPeerTheAppListsAsProxy_Judged()
    {
        // A proxy on a public address is judged once the app names it (here the flags were forgotten).
        var app = Create(o => o.KnownProxies.Add(IPAddress.Parse(Public)));

        await SendManyAsync(app, 10, 3, Public);

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);
    }

    [Theory]
    [InlineData("", "127.0.0.1", false)]
    [InlineData("", "::1", false)]
    [InlineData("", "10.1.2.3", false)]
    [InlineData("", "172.16.0.1", false)]
    [InlineData("", "192.168.1.1", false)]
    [InlineData("", "fd00::5", false)]
    [InlineData("", "8.8.8.8", false)]
    [InlineData("10.0.0.0/8", "10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "192.168.1.1", false)]
    [InlineData("fd00::/8", "fd00::5", true)]
    [InlineData("127.0.0.1", "127.0.0.1", true)]
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    public async Task Observe_PeerAddress_JudgedOnlyWhenTheAppDeclaredIt(string declared, string peer, bool judged)
    {
        // The framework's own defaults (::1, 127.0.0.0/8) are in every app's options: they declare nothing.
        var app = Create(
            o =>
            {
                if (declared.Contains('/', StringComparison.Ordinal))
                {
                    o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(declared));
                }
                else if (declared.Length > 0)
                {
                    o.KnownProxies.Add(IPAddress.Parse(declared));
                }
            },
            declareProxy: false);

        await SendManyAsync(app, 10, 3, peer);

        Assert.Equal(judged ? HealthStatus.Degraded : HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task Observe_ProxyAppearsAfterTheFirstTenThousandRequests_StillReported()
    {
        // The old watch stopped for good after 10,000 requests; now later requests are sampled (one in 64).
        var app = Create();
        await SendManyAsync(app, 10_000, 1, headers: "Accept: */*\r\n");

        await SendManyAsync(app, 64 * 10, 7);

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(app)).Status);
    }
}

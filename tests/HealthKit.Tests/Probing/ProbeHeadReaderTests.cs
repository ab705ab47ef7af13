// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Probing;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Probing;

/// <summary>
/// The one head reader and route, on the bytes each real prober sends (the measured forms of ALB, HAProxy, kubelet,
/// Varnish, Caddy, Apache, Google Cloud) and on every refusal, with and without the probe listener's leniencies.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ProbeHeadReaderTests
{
    private readonly ProbeRoute _route = new(Options.Create(new DeployHealthOptions()));

    public static TheoryData<string, string, string, string, bool, bool> ProberForms => new()
    {
        // prober, head, kind, verb, HTTP/1.1, Host
        { "ALB", "GET /health HTTP/1.1\r\nHost: 10.0.1.17:8080\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip, compressed\r\nConnection: close\r\n\r\n", "Readiness", "Get", true, true },
        { "HAProxy option httpchk GET", "GET /health HTTP/1.0\r\n\r\n", "Readiness", "Get", false, false },
        { "HAProxy option httpchk {path}", "OPTIONS /health HTTP/1.0\r\n\r\n", "Readiness", "Options", false, false },
        { "HAProxy http-check send ver HTTP/1.1", "GET /health HTTP/1.1\r\n\r\n", "Readiness", "Get", true, false },
        { "HAProxy http-check send hdr host", "GET /health HTTP/1.1\r\nhost: 10.0.1.11\r\n\r\n", "Readiness", "Get", true, true },
        { "kubelet", "GET /health/live HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n", "Liveness", "Get", true, true },
        { "Varnish", "GET /health HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", "Readiness", "Get", true, true },
        { "Varnish .request without Host", "GET /health/ready HTTP/1.1\r\nConnection: close\r\n\r\n", "Readiness", "Get", true, false },
        { "Caddy", "GET /health HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n", "Readiness", "Get", true, true },
        { "Apache hcmethod=HEAD", "HEAD /health HTTP/1.0\r\nHost: 127.0.0.1:5000\r\n\r\n", "Readiness", "Head", false, true },
        { "Apache hcmethod=GET11", "GET /HEALTH/ HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n", "Readiness", "Get", true, true },
        { "Apache hcmethod=OPTIONS", "OPTIONS * HTTP/1.0\r\nHost: 127.0.0.1:5000\r\n\r\n", "Readiness", "Options", false, true },
        { "Apache hcmethod=OPTIONS11 without Host", "OPTIONS * HTTP/1.1\r\n\r\n", "Readiness", "Options", true, false },
        { "Google Cloud", "GET /health?x=1 HTTP/1.1\r\nHost: 10.128.0.2\r\nUser-Agent: GoogleHC/1.0\r\n\r\n", "Readiness", "Get", true, true },
    };

    [Theory]
    [MemberData(nameof(ProberForms))]
    public void Read_EachProberForm_RoutedAsTheProbeItIs(string prober, string text, string kindName, string verbName, bool http11, bool host)
    {
        var kind = Enum.Parse<ProbeKind>(kindName);
        var verb = Enum.Parse<ProbeVerb>(verbName);
        var data = Encoding.ASCII.GetBytes(text);

        // Both doors read every measured prober form alike: no leniency is needed for any of them.
        foreach (var leniency in new[] { ProbeLeniency.None, ProbeLeniency.Listener })
        {
            Assert.True(ProbeHeadReader.MayBeProbe(data, _route), prober);
            Assert.Equal(ProbeHeadParse.Complete, ProbeHeadReader.Read(data, leniency, out var head));
            var parsedVerb = ProbeMethod.Parse(data.AsSpan()[head.Method]);
            var parsedKind = head.IsAsterisk ? ProbeKind.Readiness : _route.Match(data.AsSpan()[head.Path], statusPage: false);
            Assert.Equal(verb, parsedVerb);
            Assert.Equal(kind, parsedKind);
            Assert.Equal(http11, head.IsHttp11);
            Assert.Equal(host, head.HasHost);
            Assert.Equal(data.Length, head.Length);
            Assert.Equal(ProbeRefusal.None, ProbeRoute.Refusal(parsedKind, parsedVerb, head.IsAsterisk));
        }
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: shop\r\n\r\n")]
    [InlineData("POST /health HTTP/1.1\r\n\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001")]
    [InlineData("GET /healthz HTTP/1.1\r\n\r\n")]
    [InlineData("OPTIONS / HTTP/1.0\r\n\r\n")]
    public void MayBeProbe_OrdinaryTrafficAndOtherProtocols_DecidedAtTheFirstBytes(string text)
    {
        Assert.False(ProbeHeadReader.MayBeProbe(Encoding.Latin1.GetBytes(text), _route));
    }

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("OPTIO")]
    [InlineData("GET /hea")]
    [InlineData("GET *")]
    public void MayBeProbe_PrefixOfAProbe_WorthWaitingFor(string text)
    {
        Assert.True(ProbeHeadReader.MayBeProbe(Encoding.ASCII.GetBytes(text), _route));
    }

    [Theory]
    [InlineData("GET /health HTTP/1.1\r\n")]
    [InlineData("GET /health HTTP/1.1\r\nUser-Agent: x\r\n")]
    [InlineData("GET /hea")]
    public void Read_HeadNotComplete_Incomplete(string text)
    {
        Assert.Equal(ProbeHeadParse.Incomplete, ProbeHeadReader.Read(Encoding.ASCII.GetBytes(text), ProbeLeniency.Listener, out _));
    }

    [Theory]
    [InlineData("GET /health HTTP/1.0\n\n")]
    [InlineData("GET /health HTTP/1.1\r\nUser-Agent: hand-written\n\r\n")]
    public void Read_BareLineFeed_OnlyWithItsLeniency(string text)
    {
        var data = Encoding.ASCII.GetBytes(text);

        Assert.Equal(ProbeHeadParse.Malformed, ProbeHeadReader.Read(data, ProbeLeniency.None, out _));
        Assert.Equal(ProbeHeadParse.Complete, ProbeHeadReader.Read(data, ProbeLeniency.BareLineFeed, out var head));
        Assert.Equal(ProbeKind.Readiness, _route.Match(data.AsSpan()[head.Path], statusPage: false));
    }

    [Fact]
    public void Read_AbsoluteForm_OnlyWithItsLeniency_ReadAsItsPath()
    {
        var data = Encoding.ASCII.GetBytes("GET http://10.0.0.5:8081/health/live?probe=1 HTTP/1.1\r\nHost: 10.0.0.5:8081\r\n\r\n");

        Assert.Equal(ProbeHeadParse.Malformed, ProbeHeadReader.Read(data, ProbeLeniency.None, out _));
        Assert.Equal(ProbeHeadParse.Complete, ProbeHeadReader.Read(data, ProbeLeniency.AbsoluteForm, out var head));
        Assert.Equal("/health/live", Encoding.ASCII.GetString(data.AsSpan()[head.Path]));
    }

    [Theory]
    [InlineData("GET /health HTTP/2.0\r\n\r\n", "UnsupportedVersion")]
    [InlineData("PRI * HTTP/2.0\r\n\r\n", "UnsupportedVersion")]
    [InlineData("GET /health\r\n\r\n", "Malformed")]
    [InlineData("GET  HTTP/1.1\r\n\r\n", "Malformed")]
    [InlineData("GET health HTTP/1.1\r\n\r\n", "Malformed")]
    [InlineData("GET /health HTTP/1.1\r\nno colon\r\n\r\n", "Malformed")]
    [InlineData("GET /health FTP/1.10\r\n\r\n", "Malformed")]
    public void Read_NotAnHttp1Head_Refused(string text, string expectedName)
    {
        var expected = Enum.Parse<ProbeHeadParse>(expectedName);
        Assert.Equal(expected, ProbeHeadReader.Read(Encoding.ASCII.GetBytes(text), ProbeLeniency.Listener, out _));
    }

    [Fact]
    public void Read_AcceptHeader_RangeOfItsTrimmedValue()
    {
        var data = Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nAccept:   text/plain  \r\n\r\n");

        ProbeHeadReader.Read(data, ProbeLeniency.None, out var head);

        Assert.True(head.HasAccept);
        Assert.Equal("text/plain", Encoding.ASCII.GetString(data.AsSpan()[head.Accept]));
        Assert.True(ProbeAnswers.WantsPlainText(data.AsSpan()[head.Accept]));
    }

    [Theory]
    [InlineData("GET /health/live HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\n\r\n", "kube-probe/1.31")]
    [InlineData("GET /health HTTP/1.1\r\nuser-agent:   ELB-HealthChecker/2.0  \r\nUser-Agent: second\r\n\r\n", "ELB-HealthChecker/2.0")]
    public void Read_UserAgentHeader_RangeOfTheFirstTrimmedValue(string text, string expected)
    {
        var data = Encoding.ASCII.GetBytes(text);

        Assert.Equal(ProbeHeadParse.Complete, ProbeHeadReader.Read(data, ProbeLeniency.None, out var head));

        Assert.True(head.HasUserAgent);
        Assert.Equal(expected, Encoding.ASCII.GetString(data.AsSpan()[head.UserAgent]));
    }

    [Fact]
    public void Read_NoUserAgent_NoRange()
    {
        ProbeHeadReader.Read("GET /health HTTP/1.0\r\n\r\n"u8, ProbeLeniency.None, out var head);

        Assert.False(head.HasUserAgent);
    }
}

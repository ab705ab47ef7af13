// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Probing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Probing;

/// <summary>The one answer table, byte for byte, with the Date header from a fake clock.</summary>
[Trait("Tier", "Fast")]
public sealed class ProbeAnswersTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void WriteProbe_GetHealthy_StatusDateNoStoreTypeLengthCloseAndPass()
    {
        var date = new DateHeader(new FakeTimeProvider(Noon));

        var text = Write(ProbeVerb.Get, HealthStatus.Healthy, date.Current);

        Assert.Equal(
            "HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nCache-Control: no-store\r\nContent-Type: application/health+json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"status\":\"pass\"}",
            text);
    }

    [Theory]
    [InlineData(HealthStatus.Degraded, "200 OK", "{\"status\":\"warn\"}")]
    [InlineData(HealthStatus.Unhealthy, "503 Service Unavailable", "{\"status\":\"fail\"}")]
    public void WriteProbe_GetEachStatus_ItsStatusAndBody(HealthStatus status, string statusLine, string body)
    {
        var text = Write(ProbeVerb.Get, status, "d"u8);

        Assert.StartsWith("HTTP/1.1 " + statusLine + "\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n" + body, text, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteProbe_Head_SameHeadNoBody()
    {
        var get = Write(ProbeVerb.Get, HealthStatus.Unhealthy, "d"u8);
        var head = Write(ProbeVerb.Head, HealthStatus.Unhealthy, "d"u8);

        Assert.Equal(get[..(get.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)], head);
    }

    [Fact]
    public void WriteProbe_Options_StatusAllowAndNoContent()
    {
        var text = Write(ProbeVerb.Options, HealthStatus.Healthy, "d"u8);

        Assert.Equal("HTTP/1.1 200 OK\r\nDate: d\r\nCache-Control: no-store\r\nAllow: GET, HEAD, OPTIONS\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", text);
    }

    [Theory]
    [InlineData(405, "405 Method Not Allowed")]
    [InlineData(404, "404 Not Found")]
    [InlineData(400, "400 Bad Request")]
    [InlineData(431, "431 Request Header Fields Too Large")]
    [InlineData(505, "505 HTTP Version Not Supported")]
    public void WriteHead_Refusals_StatusLineAndNoContent(int status, string statusLine)
    {
        var buffer = new byte[ProbeAnswers.MaxHeadLength];

        var length = ProbeAnswers.WriteHead(buffer, status, null, 0, status == 405 ? ProbeAnswers.AllowBytes : [], "d"u8);
        var text = Encoding.ASCII.GetString(buffer, 0, length);

        Assert.StartsWith("HTTP/1.1 " + statusLine + "\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("Content-Length: 0\r\nConnection: close\r\n\r\n", text, StringComparison.Ordinal);
        Assert.Equal(status == 405, text.Contains("Allow: GET, HEAD, OPTIONS\r\n", StringComparison.Ordinal));
    }

    [Fact]
    public void DateHeader_FakeClock_NewValueEachSecondOnly()
    {
        var time = new FakeTimeProvider(Noon);
        var date = new DateHeader(time);

        var first = date.Current;
        time.Advance(TimeSpan.FromMilliseconds(500));
        var sameSecond = date.Current;
        time.Advance(TimeSpan.FromMilliseconds(500));
        var next = date.Current;

        Assert.Same(first, sameSecond);
        Assert.Equal("Mon, 07 Dec 2026 12:00:01 GMT", Encoding.ASCII.GetString(next));
    }

    [Theory]
    [InlineData("text/plain", true)]
    [InlineData("text/plain, application/json", false)]
    [InlineData("*/*", false)]
    [InlineData("TEXT/PLAIN;q=0.9", true)]
    public void WantsPlainText_CharsAndBytes_SameRule(string accept, bool plain)
    {
        Assert.Equal(plain, ProbeAnswers.WantsPlainText(new Microsoft.Extensions.Primitives.StringValues(accept)));
        Assert.Equal(plain, ProbeAnswers.WantsPlainText(Encoding.ASCII.GetBytes(accept)));
    }

    private static string Write(ProbeVerb verb, HealthStatus status, ReadOnlySpan<byte> date)
    {
        var buffer = new byte[ProbeAnswers.MaxHeadLength];
        var length = ProbeAnswers.WriteProbe(buffer, verb, status, plainText: false, date);
        return Encoding.ASCII.GetString(buffer, 0, length);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Output;

/// <summary>
/// Odd and hostile requests to the probe paths, byte for byte over real sockets, against an app that grants details
/// through its policy only: whatever arrives, the answer is never a 500, never details, and never late.
/// </summary>
public sealed class ProbeFuzzTests(PolicyAppFixture fixture) : IClassFixture<PolicyAppFixture>
{
    private const string Host = "Host: 10.0.3.7:8080\r\n";
    private const string Close = "Connection: close\r\n";
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(5);

    /// <summary>Just under Kestrel's 32 KB limit for all request headers together.</summary>
    private static readonly string LargeHeader = "X-Padding: " + new string('a', 30_000) + "\r\n";

    private static readonly string[] AnonymousBodies = ["""{"status":"pass"}""", """{"status":"warn"}""", """{"status":"fail"}""", "Healthy", "Degraded", "Unhealthy", string.Empty];

    public static TheoryData<string, string> Requests()
    {
        var data = new TheoryData<string, string>();
        foreach (var method in new[] { "PATCH", "PUT", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "BREW", "M-SEARCH", "get", "Get", "CONNECT" })
        {
            data.Add($"method {method}", $"{method} /health HTTP/1.1\r\n{Host}Content-Length: 0\r\n{Close}\r\n");
        }

        data.Add("method POST on the page", $"POST /health/ui HTTP/1.1\r\n{Host}Content-Length: 5\r\n{Close}\r\nhello");
        data.Add("HEAD on liveness", $"HEAD /health/live HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("large header", $"GET /health HTTP/1.1\r\n{Host}{LargeHeader}{Close}\r\n");
        data.Add("large header on the page", $"GET /health/ui HTTP/1.1\r\n{Host}{LargeHeader}{Close}\r\n");
        data.Add("headers over the limit", $"GET /health HTTP/1.1\r\n{Host}{LargeHeader}{LargeHeader}{Close}\r\n");
        data.Add("more headers than allowed", $"GET /health HTTP/1.1\r\n{Host}{Repeat(i => $"X-H{i}: {i}\r\n", 150)}{Close}\r\n");
        data.Add("huge Accept", $"GET /health HTTP/1.1\r\n{Host}Accept: {string.Join(", ", Enumerable.Repeat("application/health+json;details=true;q=0.1", 600))}\r\n{Close}\r\n");
        data.Add("duplicate Accept", $"GET /health HTTP/1.1\r\n{Host}{Repeat(_ => "Accept: text/plain\r\n", 50)}{Close}\r\n");
        data.Add("duplicate Authorization", $"GET /health HTTP/1.1\r\n{Host}{Repeat(_ => "Authorization: Bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n", 2)}{Close}\r\n");
        data.Add("duplicate Authorization on the page", $"GET /health/ui HTTP/1.1\r\n{Host}{Repeat(_ => "Authorization: Bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n", 3)}{Close}\r\n");
        data.Add("duplicate X-Forwarded-For", $"GET /health HTTP/1.1\r\n{Host}{Repeat(_ => "X-Forwarded-For: 127.0.0.1\r\n", 20)}{Close}\r\n");
        data.Add("duplicate Host", $"GET /health HTTP/1.1\r\n{Host}{Host}{Close}\r\n");
        data.Add("empty Authorization and Cookie", $"GET /health HTTP/1.1\r\n{Host}Authorization: \r\nCookie: \r\n{Close}\r\n");
        data.Add("long query", $"GET /health?{new string('q', 7_000)} HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("query over the limit", $"GET /health?{new string('q', 9_000)} HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("bad escapes in query", $"GET /health?%zz=%&%%%=%0 HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("encoded controls in query", $"GET /health/ready?a=%00%0d%0aX-Injected:%201 HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("repeated details parameters", $"GET /health?details=true&details=1&details&verbose=true&full HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("punctuation query", $"GET /health?;;;&&&===?? HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("page with details query", $"GET /health/ui?details=true&role={TokenAuthenticationHandler.OperatorRole} HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("Accept text/plain", $"GET /health HTTP/1.1\r\n{Host}Accept: text/plain\r\n{Close}\r\n");
        data.Add("Accept nonsense", $"GET /health HTTP/1.1\r\n{Host}Accept: ;;;,,,/*/*;q=abc\r\n{Close}\r\n");
        data.Add("Accept details parameter", $"GET /health HTTP/1.1\r\n{Host}Accept: application/health+json; details\r\n{Close}\r\n");
        data.Add("Accept empty", $"GET /health HTTP/1.1\r\n{Host}Accept:\r\n{Close}\r\n");
        data.Add("GET with Content-Length body", $"GET /health HTTP/1.1\r\n{Host}Content-Length: 13\r\n{Close}\r\n{{\"details\":1}}");
        data.Add("GET with chunked body", $"GET /health HTTP/1.1\r\n{Host}Transfer-Encoding: chunked\r\n{Close}\r\n5\r\nhello\r\n0\r\n\r\n");
        data.Add("GET announcing a body it never sends", $"GET /health HTTP/1.1\r\n{Host}Content-Length: 1000000\r\n{Close}\r\n0123456789");
        data.Add("GET expecting 100-continue", $"GET /health HTTP/1.1\r\n{Host}Expect: 100-continue\r\nContent-Length: 100\r\n{Close}\r\n");
        data.Add("Content-Length and chunked", $"GET /health HTTP/1.1\r\n{Host}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n{Close}\r\n0\r\n\r\n");
        data.Add("HTTP/1.0 without Host", "GET /health HTTP/1.0\r\n\r\n");
        data.Add("HTTP/1.0 keep-alive", "GET /health/ready HTTP/1.0\r\nConnection: keep-alive\r\nAccept: text/plain\r\n\r\n");
        data.Add("HTTP/1.0 with body", "GET /health HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody");
        data.Add("HTTP/1.0 page", "GET /health/ui HTTP/1.0\r\n\r\n");
        data.Add("unknown HTTP version", $"GET /health HTTP/1.7\r\n{Host}{Close}\r\n");
        data.Add("absolute-form target", $"GET http://10.0.3.7:8080/health HTTP/1.1\r\n{Host}{Close}\r\n");
        data.Add("absolute-form with another authority", $"GET http://127.0.0.1/health/ui HTTP/1.1\r\n{Host}{Close}\r\n");
        return data;
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task OddRequest_NeverServerErrorNorDetails(string name, string request)
    {
        var response = await RawHttp.SendAsync(fixture.App.Address, request, PerRequest);

        AssertSafe(name, response);
    }

    [Fact]
    public async Task Pipelined_MixOfProbesOnOneConnection_EachAnsweredSafelyInOrder()
    {
        string[] requests =
        [
            $"GET /health HTTP/1.1\r\n{Host}\r\n",
            $"GET /health/live HTTP/1.1\r\n{Host}\r\n",
            $"POST /health HTTP/1.1\r\n{Host}Content-Length: 4\r\n\r\nbody",
            $"GET /health/ready HTTP/1.1\r\n{Host}Content-Length: 7\r\n\r\ndetails",
            $"GET /health HTTP/1.1\r\n{Host}Transfer-Encoding: chunked\r\n\r\n4\r\nfull\r\n0\r\n\r\n",
            $"GET /health/ui HTTP/1.1\r\n{Host}\r\n",
            $"GET /health HTTP/1.1\r\n{Host}Accept: text/plain\r\n\r\n",
            $"GET /health?details=true HTTP/1.1\r\n{Host}X-Forwarded-For: 127.0.0.1\r\n\r\n",
            $"GET /health HTTP/1.1\r\n{Host}{LargeHeader}\r\n",
            $"GET /health HTTP/1.1\r\n{Host}Authorization: Bearer {TokenAuthenticationHandler.UserToken}\r\n\r\n",
        ];
        var all = new StringBuilder();
        for (var round = 0; round < 2; round++)
        {
            foreach (var request in requests)
            {
                all.Append(request);
            }
        }

        all.Append($"GET /health/live HTTP/1.1\r\n{Host}{Close}\r\n");

        var responses = await RawHttp.SendManyAsync(fixture.App.Address, all.ToString(), (requests.Length * 2) + 1, TimeSpan.FromSeconds(15));

        int[] expected = [503, 200, 405, 503, 503, 401, 503, 503, 503, 503];
        for (var i = 0; i < responses.Count - 1; i++)
        {
            AssertSafe($"pipelined #{i}", responses[i]);
            Assert.Equal(expected[i % requests.Length], responses[i].Status);
        }

        Assert.Equal("Unhealthy", responses[6].Body);
        Assert.Equal(200, responses[^1].Status);
    }

    [Fact]
    public async Task Burst_TwoHundredOddRequestsOnTwentyConnections_AllAnsweredSafely()
    {
        var requests = Requests().Select(row => (string)row[1]).ToArray();
        var work = Enumerable.Range(0, 20).Select(async worker =>
        {
            for (var i = 0; i < 10; i++)
            {
                var request = requests[((worker * 10) + i) % requests.Length];
                AssertSafe($"burst {worker}/{i}", await RawHttp.SendAsync(fixture.App.Address, request, PerRequest));
            }
        });

        await Task.WhenAll(work).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static void AssertSafe(string name, RawResponse response)
    {
        Assert.True(response.Status is < 500 or 503 or 505, $"{name}: {response}");
        Assert.DoesNotContain(DetailsApp.FailingCheck, response.Body);
        Assert.DoesNotContain(DetailsApp.HealthyCheck, response.Body);
        Assert.DoesNotContain("checks", response.Body);
        if (response.Status is 200 or 503)
        {
            Assert.True(AnonymousBodies.Contains(response.Body), $"{name}: {response}");
        }
    }

    private static string Repeat(Func<int, string> line, int count) => string.Concat(Enumerable.Range(0, count).Select(line));
}

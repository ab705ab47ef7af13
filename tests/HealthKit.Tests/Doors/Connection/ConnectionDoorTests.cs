// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Tests.Doors.Connection;

/// <summary>
/// HTTP/1.1 without Host, which Kestrel refuses with 400 before any middleware, on the wire against the hardened
/// template apps: the probe paths get readiness or liveness from the connection door, and nothing else changes.
/// </summary>
public sealed class ConnectionDoorTests
{
    public static TheoryData<TemplateStyle> Styles => new() { TemplateStyle.Web, TemplateStyle.WebApp, TemplateStyle.Mvc };

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Http11WithoutHost_AsHaproxyHttpCheckSend_Answers200PassAndCloses(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        // HAProxy's "http-check send meth GET uri /health ver HTTP/1.1" without "hdr host", byte for byte.
        var response = await RawHttp.SendAsync(app.Address, "GET /health HTTP/1.1\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"pass"}""", response.Body);
        Assert.Equal("application/health+json", response.Header("Content-Type"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal("close", response.Header("Connection"));
    }

    [Theory]
    [InlineData("GET /health/ready HTTP/1.1\r\nUser-Agent: varnish\r\nConnection: close\r\n\r\n", 200, """{"status":"pass"}""")]
    [InlineData("GET /health/live HTTP/1.1\r\n\r\n", 200, """{"status":"pass"}""")]
    [InlineData("GET /HEALTH/?x=1 HTTP/1.1\r\n\r\n", 200, """{"status":"pass"}""")]
    [InlineData("HEAD /health HTTP/1.1\r\n\r\n", 200, "")]
    [InlineData("OPTIONS /health HTTP/1.1\r\n\r\n", 200, "")]
    [InlineData("OPTIONS * HTTP/1.1\r\n\r\n", 200, "")]
    public async Task Http11WithoutHost_EachProbeForm_AnswersLikeTheMiddleware(string request, int status, string body)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.WebApp);

        var response = await RawHttp.SendAsync(app.Address, request);

        Assert.Equal(status, response.Status);
        Assert.Equal(body, response.Body);
        Assert.Equal("no-store", response.Header("Cache-Control"));
        if (request.StartsWith("OPTIONS", StringComparison.Ordinal))
        {
            Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
        }
    }

    [Fact]
    public async Task Http11WithoutHost_HeadSplitAcrossWrites_StillAnswered()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var response = await RawHttp.SendInPiecesAsync(app.Address, ["GE", "T /hea", "lth HTTP/1", ".1\r\nUser-Agent: probe\r", "\n\r\n"]);

        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task Http11WithoutHost_WhileUnhealthy_Answers503Fail_LivenessStill200()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web, health => health.AddCheck("db", () => HealthCheckResult.Unhealthy("down")));

        var ready = await RawHttp.SendAsync(app.Address, "GET /health HTTP/1.1\r\n\r\n");
        var live = await RawHttp.SendAsync(app.Address, "GET /health/live HTTP/1.1\r\n\r\n");

        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"fail"}""", ready.Body);
        Assert.Equal(200, live.Status);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Name == "ConnectionProbeAnswered");
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n")]
    [InlineData("GET /healthz HTTP/1.1\r\n\r\n")]
    [InlineData("GET /health/x HTTP/1.1\r\n\r\n")]
    [InlineData("POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("GET /%68ealth HTTP/1.1\r\n\r\n")]
    [InlineData("OPTIONS / HTTP/1.1\r\n\r\n")]
    public async Task Http11WithoutHost_NotAProbe_StillKestrels400(string request)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.WebApp);

        var response = await RawHttp.SendAsync(app.Address, request);

        Assert.Equal(400, response.Status);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task OptionsRootWithIpHost_StillMeetsHostFiltering400(TemplateStyle style)
    {
        await using var app = await HardenedApp.StartAsync(style);

        var response = await RawHttp.SendAsync(app.Address, "OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task Connection_OrdinaryRequestsKeepAlive_PassedByteForByte()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        // Three pipelined requests on one connection, the first a page: the door passes it untouched and Kestrel
        // answers every one of them, the probes through the middleware.
        var responses = await RawHttp.SendManyAsync(
            app.Address,
            $"GET / HTTP/1.1\r\nHost: {HardenedApp.AllowedHost}\r\nX-Forwarded-Proto: https\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            3);

        Assert.Equal(302, responses[0].Status);
        Assert.Equal(200, responses[1].Status);
        Assert.Equal(200, responses[2].Status);
    }

    [Fact]
    public async Task Connection_ProbeWithHostFirst_KeepAliveServedByKestrel()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var responses = await RawHttp.SendManyAsync(
            app.Address,
            "GET /health HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\nGET /health/live HTTP/1.1\r\nHost: 10.0.0.1\r\nConnection: close\r\n\r\n",
            2);

        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.Null(responses[0].Header("Connection"));
    }

    [Fact]
    public async Task Connection_Http2PriorKnowledgeOnHttp2Endpoint_Untouched()
    {
        // As the gRPC template sets it: in configuration, which Kestrel applies besides the door's endpoint defaults.
        await using var app = await KestrelApp.StartAsync(
            b => b.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["Kestrel:EndpointDefaults:Protocols"] = "Http2" });

        using var client = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var response = await client.GetAsync(new Uri(app.Address, "/health"));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(System.Net.HttpVersion.Version20, response.Version);
    }

    [Fact]
    public async Task Start_AppReplacesEndpointDefaults_WarnsDoorMissing()
    {
        await using var app = await KestrelApp.StartAsync(
            b =>
            {
                b.Services.AddDeployHealth();
                b.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http1));
            });

        var warning = await app.WaitForLogAsync("ConnectionDoorMissing");

        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(400, (await RawHttp.SendAsync(app.Address, "GET /health HTTP/1.1\r\n\r\n")).Status);
    }

    [Fact]
    public async Task Start_ListenInAppsConfigureKestrel_DoorOnThatEndpointToo()
    {
        var port = ServerHost.GetFreePort();
        await using var app = await KestrelApp.StartAsync(
            b =>
            {
                b.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
                b.Services.AddDeployHealth();
            });

        var response = await RawHttp.SendAsync(new Uri($"http://127.0.0.1:{port}/"), "GET /health HTTP/1.1\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name == "ConnectionDoorMissing");
    }

    [Fact]
    public async Task Start_EndpointFromKestrelConfiguration_DoorOnThatEndpointToo()
    {
        var port = ServerHost.GetFreePort();
        await using var app = await KestrelApp.StartAsync(
            b => b.Services.AddDeployHealth(),
            configuration: new Dictionary<string, string?> { ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{port}" });

        var response = await RawHttp.SendAsync(new Uri($"http://127.0.0.1:{port}/"), "GET /health HTTP/1.1\r\n\r\n");

        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task HalfClosedAfterTheRequest_EachAnswered_AbortsCostNoErrorLog()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);
        var endpoint = new IPEndPoint(IPAddress.Loopback, app.Address.Port);
        var request = "GET /health HTTP/1.1\r\n\r\n"u8.ToArray();

        // Tried first: 20 clients that send the probe and reset the connection at once (a real abort).
        for (var i = 0; i < 20; i++)
        {
            using var aborting = new Socket(SocketType.Stream, ProtocolType.Tcp) { LingerState = new LingerOption(true, 0) };
            await aborting.ConnectAsync(endpoint);
            await aborting.SendAsync(request);
            aborting.Close();
        }

        // Then 100 as `printf 'GET /health HTTP/1.1\r\n\r\n' | socat - TCP:...` sends them: the request, then a FIN.
        var answered = 0;
        var failures = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await client.ConnectAsync(endpoint, bound.Token);
                await client.SendAsync(request, bound.Token);
                client.Shutdown(SocketShutdown.Send);
                using var received = new MemoryStream();
                var buffer = new byte[1024];
                int read;
                while ((read = await client.ReceiveAsync(buffer, bound.Token)) > 0)
                {
                    received.Write(buffer, 0, read);
                }

                var text = Encoding.ASCII.GetString(received.ToArray());
                if (text.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal) && text.EndsWith("""{"status":"pass"}""", StringComparison.Ordinal))
                {
                    answered++;
                }
                else
                {
                    failures.Add(text.Length == 0 ? "nothing" : text.Split('\r')[0]);
                }
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                failures.Add(exception.GetType().Name);
            }
        }

        Assert.True(answered >= 99, $"{answered} of 100 answered; {string.Join(" | ", failures)}");
        var errors = app.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join(" | ", errors.Select(r => $"{r.Level} {r.Category} {r.Id.Name}: {r.Message} {r.Exception?.GetType().Name}")));
    }
}

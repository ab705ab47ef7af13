// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace HealthKit.Tests.Doors.Connection;

/// <summary>
/// The connection door on HTTPS endpoints sits behind Kestrel's TLS handshake: every prober form that is answered over
/// plain HTTP is answered over TLS (HTTP/1.1 without Host, <c>OPTIONS *</c>), on endpoints from code and from
/// configuration, against real HAProxy checking with <c>ssl verify none check</c>, while HTTP/2 by ALPN is untouched.
/// </summary>
public sealed class ConnectionDoorTlsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("GET /health HTTP/1.1\r\n\r\n", """{"status":"pass"}""")]
    [InlineData("GET /health/live HTTP/1.1\r\nUser-Agent: probe\r\n\r\n", """{"status":"pass"}""")]
    [InlineData("HEAD /health HTTP/1.1\r\n\r\n", "")]
    [InlineData("OPTIONS /health HTTP/1.1\r\n\r\n", "")]
    [InlineData("OPTIONS * HTTP/1.1\r\n\r\n", "")]
    public async Task Http11WithoutHost_OverTls_AnsweredAsOverPlainHttp(string request, string body)
    {
        await using var app = await StartAsync(fromConfiguration: false);

        var response = await SendOverTlsAsync(app.Address, request);

        Assert.Equal(200, response.Status);
        Assert.Equal(body, response.Body);
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Name == "ConnectionProbeAnswered");
    }

    [Fact]
    public async Task Http11WithoutHost_OverTlsOnEndpointFromConfiguration_Answered()
    {
        await using var app = await StartAsync(fromConfiguration: true);

        var response = await SendOverTlsAsync(app.Address, "GET /health HTTP/1.1\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("""{"status":"pass"}""", response.Body);
    }

    [Fact]
    public async Task OrdinaryRequests_OverTls_ServedByKestrelWithKeepAlive()
    {
        await using var app = await StartAsync(fromConfiguration: false);
        var host = $"Host: {app.Address.Authority}\r\n";

        // Two requests on one connection: the door hands a request it does not answer to Kestrel byte for byte.
        var request = $"GET / HTTP/1.1\r\n{host}\r\nGET / HTTP/1.1\r\n{host}Connection: close\r\n\r\n";
        var responses = await SendOverTlsAsync(app.Address, request, expected: 2);

        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.All(responses, r => Assert.Equal("hello", r.Body));
    }

    [Fact]
    public async Task Http11WithoutHost_NotAProbeOverTls_StillKestrels400()
    {
        await using var app = await StartAsync(fromConfiguration: false);

        var response = await SendOverTlsAsync(app.Address, "GET / HTTP/1.1\r\n\r\n");

        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task Http2ByAlpn_OverTls_Untouched()
    {
        await using var app = await StartAsync(fromConfiguration: false);
        using var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app.Address, "/health"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await client.SendAsync(request);

        // Kestrel's HTTP/2 and the first middleware answered it (pass, or starting on a loaded machine's cold start).
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("application/health+json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("""{"status":""", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> HaproxyForms => new()
    {
        { "GET HTTP/1.0 without Host", "option httpchk GET /health" },
        { "OPTIONS HTTP/1.0", "option httpchk /health" },
        { "HTTP/1.1 without Host", "option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1" },
        { "HTTP/1.1 with Host", "option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1 hdr host 10.0.1.11" },
        { "OPTIONS * HTTP/1.1 without Host", "option httpchk\n    http-check send meth OPTIONS uri * ver HTTP/1.1" },
    };

    [Theory]
    [MemberData(nameof(HaproxyForms))]
    public async Task Haproxy_CheckOverTls_EachForm_ServerUp(string form, string checkLines)
    {
        await using var app = await StartAsync(fromConfiguration: true);
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) => HaproxyServer.SingleBackend(port, socket, $"""
                {checkLines}
                server app 127.0.0.1:{app.Address.Port} ssl verify none check check-ssl inter 500 fall 2 rise 2
            """));

        // HAProxy starts a server UP; only a check that ran and passed (L7OK) shows the form is answered.
        IReadOnlyDictionary<string, string> row = new Dictionary<string, string>();
        await ServerHost.WaitUntilAsync(
            $"HAProxy's TLS check ({form}) to pass",
            async () =>
            {
                row = await HaproxyStats.GetServerRowAsync(haproxy, "be", "app");
                return row["status"] == "UP" && row["check_status"] == "L7OK";
            },
            Bound);

        Assert.Equal("UP", row["status"]);
    }

    /// <summary>An app with one HTTPS endpoint on 127.0.0.1 (HTTP/1.1 and HTTP/2 by ALPN), from code or from configuration.</summary>
    private static async Task<KestrelApp> StartAsync(bool fromConfiguration)
    {
        using var certificate = GrpcTemplateApp.MakeCertificate();
        var settings = new Dictionary<string, string?> { ["DeployHealth:SelfTest"] = "false" };
        var path = Path.Combine(Path.GetTempPath(), $"healthkit-tls-{Guid.NewGuid():N}.pfx");
        if (fromConfiguration)
        {
            await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx));
            settings["Kestrel:Endpoints:Tls:Url"] = "https://127.0.0.1:0";
            settings["Kestrel:Endpoints:Tls:Certificate:Path"] = path;
        }

        try
        {
            return await KestrelApp.StartAsync(
                builder =>
                {
                    builder.Services.AddDeployHealth();
                    if (!fromConfiguration)
                    {
                        var served = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), password: null);
                        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(served)));
                    }
                },
                app => app.MapGet("/", () => "hello"),
                settings);
        }
        finally
        {
            // Kestrel has read the certificate once it listens.
            File.Delete(path);
        }
    }

    private static async Task<RawResponse> SendOverTlsAsync(Uri server, string request) => (await SendOverTlsAsync(server, request, 1))[0];

    /// <summary>Writes <paramref name="request"/> over TLS (ALPN http/1.1, any certificate) and reads until the server closes.</summary>
    private static async Task<IReadOnlyList<RawResponse>> SendOverTlsAsync(Uri server, string request, int expected)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        await using var tls = new SslStream(client.GetStream());
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            },
            cts.Token);
        await tls.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        var head = request.StartsWith("HEAD ", StringComparison.Ordinal);
        while (true)
        {
            int read;
            try
            {
                read = await tls.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                read = 0;
            }

            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            if (RawResponse.TryParseAll(buffer.ToArray(), expected, head, out var done))
            {
                return done;
            }
        }

        Assert.True(RawResponse.TryParseAll(buffer.ToArray(), expected, head, out var all), $"No whole response over TLS: {Encoding.ASCII.GetString(buffer.ToArray())}");
        return all;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Output;

/// <summary>
/// Who gets the full health document: a caller that satisfies <c>DeployHealth:DetailsPolicy</c> with the app's own
/// scheme, or, when <c>DeployHealth:ProbeListener:DetailsForLoopback</c> is on, a caller of the probe listener bound to loopback.
/// Everyone else gets the anonymous body, whatever they send. Every request here is on a real loopback connection,
/// so the policy cases run on an app with <c>ProbeListener:DetailsForLoopback</c> off.
/// </summary>
public sealed class DetailsTests(PolicyAppFixture policy, LoopbackAppFixture loopback) : IClassFixture<PolicyAppFixture>, IClassFixture<LoopbackAppFixture>
{
    private const string Fail = """{"status":"fail"}""";
    private const string Operator = "Authorization: Bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n";
    private const string User = "Authorization: Bearer " + TokenAuthenticationHandler.UserToken + "\r\n";

    [Fact]
    public async Task Readiness_NoCredentials_AnonymousBody()
    {
        var response = await GetAsync(policy.App, "/health");

        Assert.Equal(503, response.Status);
        Assert.Equal(Fail, response.Body);
        Assert.Equal("application/health+json", response.Header("Content-Type"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
    }

    public static TheoryData<string, string> Tricks() => new()
    {
        { "/health?details=true", string.Empty },
        { "/health?details=1&verbose=true&full=1", string.Empty },
        { "/health/ready?token=" + TokenAuthenticationHandler.OperatorToken, string.Empty },
        { "/health?access_token=" + TokenAuthenticationHandler.OperatorToken, string.Empty },
        { "/health", "Accept: application/health+json; details\r\n" },
        { "/health", "Accept: application/health+json; details=true\r\n" },
        { "/health", "Accept: text/html,application/xhtml+xml\r\n" },
        { "/health", "Authorization: Bearer bad-token\r\n" },
        { "/health", "Authorization: Bearer\r\n" },
        { "/health", "Authorization: bearer " + TokenAuthenticationHandler.OperatorToken + "\r\n" },
        { "/health", "Authorization: Basic b3BlcmF0b3I6b3BlcmF0b3I=\r\n" },
        { "/health", "Authorization: " + TokenAuthenticationHandler.OperatorToken + "\r\n" },
        { "/health", Operator + "Authorization: Bearer bad-token\r\n" },
        { "/health", User },
        { "/health", User + "X-Role: " + TokenAuthenticationHandler.OperatorRole + "\r\n" },
        { "/health", "Cookie: .AspNetCore.Cookies=CfDJ8forged; role=" + TokenAuthenticationHandler.OperatorRole + "\r\n" },
        { "/health", "X-Forwarded-For: 127.0.0.1\r\n" },
        { "/health", "X-Real-IP: 127.0.0.1\r\n" },
        { "/health", "Forwarded: for=127.0.0.1\r\n" },
        { "/health", "X-Forwarded-User: operator\r\nX-Forwarded-Groups: " + TokenAuthenticationHandler.OperatorRole + "\r\n" },
        { "/health", "X-MS-CLIENT-PRINCIPAL-NAME: operator\r\nX-MS-CLIENT-PRINCIPAL: e30=\r\n" },
        { "/health", "X-Health-Details: true\r\n" },
    };

    [Theory]
    [MemberData(nameof(Tricks))]
    public async Task Readiness_TrickWithoutSatisfyingThePolicy_AnonymousBody(string path, string headers)
    {
        var response = await GetAsync(policy.App, path, headers);

        Assert.Equal(503, response.Status);
        Assert.Equal(Fail, response.Body);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Authorization: Bearer bad-token\r\n")]
    [InlineData("X-Forwarded-For: 127.0.0.1\r\n")]
    [InlineData("/?details=true")]
    public async Task Page_WithoutCredentials_ChallengedBySchemeWithoutPage(string headers)
    {
        var path = headers.StartsWith('/') ? "/health/ui" + headers[1..] : "/health/ui";
        var response = await GetAsync(policy.App, path, headers.StartsWith('/') ? string.Empty : headers);

        Assert.Equal(401, response.Status);
        Assert.Equal("Bearer", response.Header("WWW-Authenticate"));
        Assert.DoesNotContain(DetailsApp.FailingCheck, response.Body);
    }

    [Fact]
    public async Task Readiness_AuthenticatedWithoutTheRole_AnonymousBody_PageForbidden()
    {
        var readiness = await GetAsync(policy.App, "/health", User);
        var page = await GetAsync(policy.App, "/health/ui", User);

        Assert.Equal(503, readiness.Status);
        Assert.Equal(Fail, readiness.Body);
        Assert.Equal(403, page.Status);
        Assert.DoesNotContain(DetailsApp.FailingCheck, page.Body);
    }

    [Fact]
    public async Task Readiness_Operator_FullHealthDocument()
    {
        var response = await GetAsync(policy.App, "/health", Operator);

        Assert.Equal(503, response.Status);
        Assert.Equal("application/health+json", response.Header("Content-Type"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
        AssertFullDocument(response.Body);
    }

    [Fact]
    public async Task Readiness_OperatorOnEveryReadinessPath_FullDocument()
    {
        foreach (var path in new[] { "/health/", "/health/ready", "/HEALTH/Ready/" })
        {
            var response = await GetAsync(policy.App, path, Operator);
            AssertFullDocument(response.Body);
        }
    }

    [Fact]
    public async Task Readiness_OperatorHead_HeadersOfTheDocumentWithoutBody()
    {
        var get = await GetAsync(policy.App, "/health", Operator);
        var head = await RawHttp.GetAsync(policy.App.Address, "/health", policy.App.Address.Authority, method: "HEAD", extraHeaders: Operator);

        Assert.Equal(503, head.Status);
        Assert.Equal("application/health+json", head.Header("Content-Type"));
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(string.Empty, head.Body);
    }

    [Theory]
    [InlineData("Accept: text/plain\r\n", "text/plain; charset=utf-8", "Unhealthy")]
    [InlineData("Accept: TEXT/PLAIN; q=0.9\r\n", "text/plain; charset=utf-8", "Unhealthy")]
    [InlineData("Accept: text/plain, application/json\r\n", "application/health+json", Fail)]
    [InlineData("Accept: */*\r\n", "application/health+json", Fail)]
    public async Task Readiness_AcceptVariants_AnonymousAnswerInThatFormat(string accept, string contentType, string body)
    {
        var response = await GetAsync(policy.App, "/health", accept);

        Assert.Equal(503, response.Status);
        Assert.Equal(contentType, response.Header("Content-Type"));
        Assert.Equal(body, response.Body);
    }

    [Fact]
    public async Task Readiness_OperatorAcceptsTextPlain_OneWord()
    {
        var response = await GetAsync(policy.App, "/health", Operator + "Accept: text/plain\r\n");

        Assert.Equal(503, response.Status);
        Assert.Equal("text/plain; charset=utf-8", response.Header("Content-Type"));
        Assert.Equal("Unhealthy", response.Body);
    }

    [Fact]
    public async Task Page_Operator_ServerRenderedHtml()
    {
        var response = await GetAsync(policy.App, "/health/ui", Operator);

        Assert.Equal(200, response.Status);
        Assert.Equal("text/html; charset=utf-8", response.Header("Content-Type"));
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Contains(DetailsApp.FailingCheck, response.Body);
        Assert.Contains(DetailsApp.HealthyCheck, response.Body);
        Assert.DoesNotContain(DetailsApp.Secret, response.Body);
        Assert.DoesNotContain(DetailsApp.SecretHost, response.Body);
        Assert.DoesNotContain("<script", response.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Pipelined_OperatorThenAnonymous_OnlyTheOperatorRequestGetsDetails()
    {
        var host = policy.App.Address.Authority;
        var request =
            $"GET /health HTTP/1.1\r\nHost: {host}\r\n{Operator}\r\n" +
            $"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n" +
            $"GET /health/ui HTTP/1.1\r\nHost: {host}\r\n\r\n" +
            $"GET /health/ui HTTP/1.1\r\nHost: {host}\r\n{Operator}\r\n" +
            $"GET /health HTTP/1.1\r\nHost: {host}\r\n{User}Connection: close\r\n\r\n";

        var responses = await RawHttp.SendManyAsync(policy.App.Address, request, 5, TimeSpan.FromSeconds(10));

        AssertFullDocument(responses[0].Body);
        Assert.Equal(Fail, responses[1].Body);
        Assert.Equal(401, responses[2].Status);
        Assert.Equal(200, responses[3].Status);
        Assert.Contains(DetailsApp.FailingCheck, responses[3].Body);
        Assert.Equal(Fail, responses[4].Body);
    }

    [Fact]
    public async Task Loopback_ProbeListenerOnLoopback_FullDocument_AndPage()
    {
        // Tried: the probe listener on 127.0.0.1 with ProbeListener:DetailsForLoopback, an HTTP/1.0 probe without Host.
        var readiness = await RawHttp.GetAsync(loopback.App.ProbeAddress, "/health", null, version: "HTTP/1.0");
        var page = await RawHttp.GetAsync(loopback.App.ProbeAddress, "/health/ui", null, version: "HTTP/1.0");

        AssertFullDocument(readiness.Body);
        Assert.Equal(200, page.Status);
        Assert.Contains(DetailsApp.FailingCheck, page.Body);
    }

    [Theory]
    [InlineData("")]
    [InlineData("X-Forwarded-For: 127.0.0.1\r\n")]
    [InlineData("Forwarded: for=127.0.0.1;proto=http\r\n")]
    [InlineData("True-Client-IP: 127.0.0.1\r\n")]
    [InlineData("X-Client-IP: 127.0.0.1\r\n")]
    [InlineData("CF-Connecting-IP: 127.0.0.1\r\n")]
    public async Task Loopback_AppsOwnPort_AnonymousBody_AndNoPage_WithOrWithoutHeaders(string headers)
    {
        // Tried: a direct loopback caller of the app's own port, with no header at all and with each client-IP header.
        // Being on loopback there proves nothing (see the forwarder test below), so nobody gets details on it.
        var readiness = await GetAsync(loopback.App, "/health", headers);
        var page = await GetAsync(loopback.App, "/health/ui", headers);

        Assert.Equal(503, readiness.Status);
        Assert.Equal(Fail, readiness.Body);
        Assert.Equal(404, page.Status);
        Assert.Equal(string.Empty, page.Body);
    }

    [Fact]
    public async Task Loopback_SameHostForwarders_NeverGiveDetails()
    {
        // Tried: the forwarders of issue 16 item 2 on this host in front of the app's port, none adding any header
        // HealthKit could look for: socat and HAProxy "mode tcp" (L4), nginx proxy_pass without proxy_set_header (L7).
        var app = loopback.App.Address.Port;
        var socatPort = ServerHost.GetFreePort();
        await using var socat = ServerProcess.Start(
            ServerHost.FindExecutable("socat", "socat"),
            [$"TCP-LISTEN:{socatPort},bind=127.0.0.1,reuseaddr,fork", $"TCP:127.0.0.1:{app}"],
            Path.GetTempPath());
        await ServerHost.WaitForPortAsync(socatPort, socat);
        await using var haproxy = await HaproxyServer.StartAsync((port, stats) =>
            $"global\n    stats socket {stats} level admin\n" +
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
            $"frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n" +
            $"backend be\n    server app 127.0.0.1:{app}\n");
        await using var nginx = await NginxServer.StartAsync(port => $$"""
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    proxy_pass http://127.0.0.1:{{app}};
                }
            }
            """);

        foreach (var forwarder in new[] { new Uri($"http://127.0.0.1:{socatPort}/"), haproxy.Address, nginx.Address })
        {
            var readiness = await RawHttp.GetAsync(forwarder, "/health", "orders.example.com");
            var page = await RawHttp.GetAsync(forwarder, "/health/ui", "orders.example.com");

            Assert.True(readiness.Body == Fail, $"{forwarder}: {readiness}");
            Assert.DoesNotContain(DetailsApp.FailingCheck, readiness.Body);
            Assert.True(page.Status == 404, $"{forwarder}: {page}");
            Assert.DoesNotContain(DetailsApp.FailingCheck, page.Body);
        }
    }

    [Fact]
    public async Task NoDetailsOption_OperatorGetsAnonymousBody_AndThePagePathIsTheApps()
    {
        await using var app = await DetailsApp.StartWithPolicyAsync(configuration: new Dictionary<string, string?> { ["DeployHealth:DetailsPolicy"] = string.Empty });

        var readiness = await GetAsync(app, "/health", Operator);
        var page = await GetAsync(app, "/health/ui", Operator);

        Assert.Equal(Fail, readiness.Body);

        // Not HealthKit's: the request went through the app's pipeline, where nothing is mapped there.
        Assert.Equal(404, page.Status);
        Assert.DoesNotContain(DetailsApp.FailingCheck, page.Body);
    }

    [Fact]
    public async Task Readiness_PolicyWithRequirementOnTheHttpContextResource_EvaluatedAsTheAuthorizationMiddlewareDoes()
    {
        // The authorization middleware passes the HttpContext as the resource; policies that read the connection or
        // the request through it (IP allow-lists, client certificates) must work for details too.
        await using var app = await DetailsApp.StartWithPolicyAsync(policy: p => p.RequireAssertion(c => c.Resource is HttpContext http && http.Request.Path.StartsWithSegments("/health")));

        var response = await GetAsync(app, "/health", Operator);
        var page = await GetAsync(app, "/health/ui", Operator);

        AssertFullDocument(response.Body);
        Assert.Equal(200, page.Status);
    }

    [Fact]
    public async Task Readiness_OperatorCheckDescriptionHoldsAStackTrace_OutputIsTheMessageOnly()
    {
        await using var app = await DetailsApp.StartWithPolicyAsync(checks: health => health.AddCheck("ledger", () =>
        {
            try
            {
                throw new TimeoutException("Ledger did not answer within 500 ms.");
            }
            catch (TimeoutException exception)
            {
                // A common shape in hand-written checks: the whole exception, stack trace included, as description.
                return HealthCheckResult.Unhealthy(exception.ToString(), exception);
            }
        }));

        var response = await GetAsync(app, "/health", Operator);

        using var document = JsonDocument.Parse(response.Body);
        var output = document.RootElement.GetProperty("checks").GetProperty("ledger")[0].GetProperty("output").GetString();
        Assert.Equal("System.TimeoutException: Ledger did not answer within 500 ms.", output);
    }

    [Fact]
    public async Task Page_CookieSchemeInTemplateApp_UnauthenticatedBrowserRedirectedToLogin_ForgedCookieAnonymous()
    {
        await using var app = await HardenedApp.StartAsync(
            TemplateStyle.WebApp,
            health => health.Services.AddAuthorizationBuilder().AddPolicy("Operators", p => p.RequireRole("operators")),
            new Dictionary<string, string?> { ["DeployHealth:DetailsPolicy"] = "Operators" });

        // Over HTTPS as the balancer forwards it: over plain HTTP the app's HTTPS redirection answers first.
        var page = await RawHttp.GetAsync(app.Address, "/health/ui", HardenedApp.AllowedHost, extraHeaders: "X-Forwarded-Proto: https\r\nAccept: text/html\r\n");
        var readiness = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080", extraHeaders: "Cookie: .AspNetCore.Cookies=CfDJ8forged\r\n");

        Assert.Equal(302, page.Status);
        Assert.StartsWith("https://www.example.com/Account/Login?ReturnUrl=%2Fhealth%2Fui", page.Header("Location"));
        Assert.Equal(200, readiness.Status);

        // Pass or warn, as the template's deploy-safety findings go; never the document.
        Assert.Matches("""^\{"status":"(pass|warn)"\}$""", readiness.Body);
    }

    private static Task<RawResponse> GetAsync(KestrelApp app, string path, string headers = "") =>
        RawHttp.GetAsync(app.Address, path, app.Address.Authority, extraHeaders: headers);

    /// <summary>The document of <see cref="DetailsApp.AddStandardChecks"/>, in the terms of the IETF health check draft.</summary>
    private static void AssertFullDocument(string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        Assert.Equal("fail", root.GetProperty("status").GetString());
        foreach (var optional in new[] { "version", "releaseId" })
        {
            if (root.TryGetProperty(optional, out var value))
            {
                Assert.Equal(JsonValueKind.String, value.ValueKind);
            }
        }

        var checks = root.GetProperty("checks");
        Assert.Equal([DetailsApp.HealthyCheck, DetailsApp.FailingCheck], checks.EnumerateObject().Select(p => p.Name).Order());

        var healthy = Assert.Single(checks.GetProperty(DetailsApp.HealthyCheck).EnumerateArray());
        Assert.Equal("datastore", healthy.GetProperty("componentType").GetString());
        Assert.Equal("pass", healthy.GetProperty("status").GetString());
        Assert.True(DateTimeOffset.TryParse(healthy.GetProperty("time").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _));
        Assert.True(healthy.GetProperty("observedValue").GetDouble() >= 0);
        Assert.Equal("ms", healthy.GetProperty("observedUnit").GetString());
        Assert.False(healthy.TryGetProperty("output", out _));

        var failing = Assert.Single(checks.GetProperty(DetailsApp.FailingCheck).EnumerateArray());
        Assert.Equal("component", failing.GetProperty("componentType").GetString());
        Assert.Equal("fail", failing.GetProperty("status").GetString());
        var output = failing.GetProperty("output").GetString()!;
        Assert.StartsWith("Payment gateway refused the connection", output);
        Assert.DoesNotContain(DetailsApp.Secret, output);
        Assert.DoesNotContain(DetailsApp.SecretHost, output);
        Assert.DoesNotContain("svc-orders", output);
        Assert.DoesNotContain("8443", output);
        Assert.DoesNotContain("InvalidOperationException", output);
        Assert.DoesNotContain(" at ", output);
    }
}

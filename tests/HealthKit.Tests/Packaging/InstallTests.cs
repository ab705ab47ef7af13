// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// The README's promise as a user meets it: the packed package, added to a fresh <c>dotnet new</c> app with the one
/// line, answers every prober with 200 in front of a hardened pipeline, while every other request still meets that
/// pipeline. Each template is built once and checked over raw sockets, because the Host header is the point.
/// </summary>
[Trait("Category", "Install")]
[Collection("install")]
public sealed class InstallTests
{
    // What an ALB health check sends: the target's private IP and port, which AllowedHosts never lists.
    private const string TargetHost = "10.0.3.7:8080";
    private const string Pass = """{"status":"pass"}""";

    private readonly LocalPackageFeed _feed;

    public InstallTests(LocalPackageFeed feed)
    {
        _feed = feed;
    }

    [Theory]
    [InlineData(TemplateStyle.Web)]
    [InlineData(TemplateStyle.WebApp)]
    [InlineData(TemplateStyle.Mvc)]
    public Task AddDeployHealth_HardenedTemplateApp_ProbesPassAndOtherRequestsMeetThePipeline(TemplateStyle style) =>
        ProbesPassAndOtherRequestsMeetThePipelineAsync(TemplateApp.CreateAsync(_feed, style));

    /// <summary>The templates HealthKit's in-process tests do not imitate, made and probed the same way.</summary>
    [Theory]
    [InlineData("blazor")]
    [InlineData("webapi")]
    public Task AddDeployHealth_HardenedBlazorOrWebApiApp_ProbesPassAndOtherRequestsMeetThePipeline(string template) =>
        ProbesPassAndOtherRequestsMeetThePipelineAsync(TemplateApp.CreateAsync(_feed, template));

    /// <summary>
    /// A Blazor Interactive Server page that throws while it renders, smoke-rendered: the template's exception
    /// handler answers 500 with its error page, and the check's details (to a loopback caller on the probe listener)
    /// name the exception's type and first line, not only the status.
    /// </summary>
    [Fact]
    public async Task AddSmokePage_BlazorInteractiveServerPageThrows_DetailsNameTheException()
    {
        const string Page = """
            @page "/broken"
            @rendermode InteractiveServer

            <h1>Orders</h1>

            @code {
                protected override void OnInitialized() => throw new InvalidOperationException("The orders service is not configured.\nat Orders.Load()");
            }

            """;
        var template = await TemplateApp.CreateAsync(
            _feed,
            "blazor",
            program => "using HealthKit;\n" + program.Replace(
                "var builder = WebApplication.CreateBuilder(args);",
                "var builder = WebApplication.CreateBuilder(args);\nbuilder.Services.AddDeployHealth().AddSmokePage(\"/broken\");",
                StringComparison.Ordinal),
            new Dictionary<string, string> { [Path.Combine("Components", "Pages", "Broken.razor")] = Page });
        var probePort = ServerHost.GetFreePort();
        await using var app = await template.StartAsync(
            $"DeployHealth__ProbeListener__Port={probePort}", "DeployHealth__ProbeListener__Address=127.0.0.1", "DeployHealth__ProbeListener__DetailsForLoopback=true");
        var probes = new Uri($"http://127.0.0.1:{probePort}");

        RawResponse? details = null;
        string? output = null;
        await ServerHost.WaitUntilAsync(
            "the smoke page's finding in the probe listener's details",
            async () =>
            {
                details = await RawHttp.GetAsync(probes, "/health", "127.0.0.1");
                output = SmokeOutput(details.Body);
                return output?.StartsWith("GET /broken → 500", StringComparison.Ordinal) == true;
            },
            TimeSpan.FromSeconds(60));

        Assert.Equal(503, details!.Status);
        Assert.Equal("GET /broken → 500, threw InvalidOperationException: The orders service is not configured.", output);
        Assert.DoesNotContain("Orders.Load", details.Body, StringComparison.Ordinal);
    }

    private static string? SmokeOutput(string document)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(document);
            return json.RootElement.TryGetProperty("checks", out var checks) && checks.TryGetProperty("smoke /broken", out var entries)
                && entries[0].TryGetProperty("output", out var text)
                ? text.GetString()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task ProbesPassAndOtherRequestsMeetThePipelineAsync(Task<TemplateApp> created)
    {
        var template = await created;
        await using var app = await template.StartAsync();
        var server = app.Address;
        var failures = new List<string>();

        void Expect(string what, bool condition, RawResponse response)
        {
            if (!condition)
            {
                failures.Add($"{what}: got {Describe(response)}");
            }
        }

        // The port can accept a moment before the host has started, while readiness still says 503 "starting".
        await ServerHost.WaitUntilAsync(
            "readiness to stop answering 503 (starting)",
            async () => (await RawHttp.GetAsync(server, "/health", TargetHost)).Status != 503,
            TimeSpan.FromSeconds(15));

        // Probes, the way each prober sends them.
        var elb = await RawHttp.GetAsync(server, "/health", TargetHost, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");
        Expect("ALB probe → 200 pass", elb.Status == 200 && elb.Body == Pass, elb);
        Expect("ALB probe → application/health+json", elb.Header("Content-Type") == "application/health+json", elb);
        Expect("ALB probe → Cache-Control: no-store", elb.Header("Cache-Control") == "no-store", elb);

        var haproxy = await RawHttp.GetAsync(server, "/health", host: null, version: "HTTP/1.0");
        Expect("HTTP/1.0 probe without Host (HAProxy) → 200 pass", haproxy.Status == 200 && haproxy.Body == Pass, haproxy);

        var kube = await RawHttp.GetAsync(server, "/health", TargetHost, extraHeaders: "User-Agent: kube-probe/1.31\r\n");
        Expect("kubelet probe → 200 pass", kube.Status == 200 && kube.Body == Pass, kube);

        foreach (var path in new[] { "/health/", "/health/ready", "/health/live" })
        {
            var probe = await RawHttp.GetAsync(server, path, TargetHost);
            Expect($"GET {path} → 200 pass", probe.Status == 200 && probe.Body == Pass, probe);
        }

        // A HEAD answered with a body would leave it where the next response's status line should be.
        var pipelined = await RawHttp.SendManyAsync(
            server,
            $"HEAD /health HTTP/1.1\r\nHost: {TargetHost}\r\n\r\nGET /health/live HTTP/1.1\r\nHost: {TargetHost}\r\nConnection: close\r\n\r\n",
            expected: 2);
        Expect("HEAD /health → 200", pipelined[0].Status == 200, pipelined[0]);
        Expect("HEAD /health → no body (next response starts right after the headers)", pipelined[1].Version == "HTTP/1.1" && pipelined[1].Status == 200, pipelined[1]);

        var post = await RawHttp.GetAsync(server, "/health", TargetHost, method: "POST", extraHeaders: "Content-Length: 0\r\n");
        Expect("POST /health → 405 with Allow: GET, HEAD, OPTIONS", post.Status == 405 && post.Header("Allow") == "GET, HEAD, OPTIONS", post);

        // The rate limiter is live: requests that get through HTTPS redirection (forwarded as HTTPS by the
        // loopback proxy the forwarded-headers middleware trusts) meet the fallback policy, then 429...
        var throughPipeline = new List<RawResponse>();
        for (var i = 0; i < TemplateApp.RateLimit + 2; i++)
        {
            throughPipeline.Add(await RawHttp.GetAsync(server, "/", TemplateApp.AllowedHost, extraHeaders: "X-Forwarded-Proto: https\r\n"));
        }

        var first = throughPipeline[0];
        Expect("/ over forwarded HTTPS → challenged by the fallback policy (302 to login)", first.Status == 302 && (first.Header("Location") ?? string.Empty).Contains("/Account/Login", StringComparison.Ordinal), first);
        Expect("/ over forwarded HTTPS → HSTS header", first.Header("Strict-Transport-Security") is not null, first);
        Expect($"/ past {TemplateApp.RateLimit} requests → 429 from the rate limiter", throughPipeline[^1].Status == 429, throughPipeline[^1]);

        // ...while probes, many more than the limit, all pass.
        for (var i = 0; i < TemplateApp.RateLimit * 4; i++)
        {
            var probe = await RawHttp.GetAsync(server, "/health", TargetHost, extraHeaders: "User-Agent: ELB-HealthChecker/2.0\r\n");
            Expect($"probe {i + 1} past the exhausted rate limit → 200 pass", probe.Status == 200 && probe.Body == Pass, probe);
        }

        // What must NOT bypass the pipeline.
        var root = await RawHttp.GetAsync(server, "/", TargetHost);
        Expect("/ with an IP Host → 400 from host filtering", root.Status == 400, root);

        var plain = await RawHttp.GetAsync(server, "/", TemplateApp.AllowedHost);
        Expect("/ over http → 307 to https", plain.Status == 307 && plain.Header("Location") == $"https://{TemplateApp.AllowedHost}/", plain);

        foreach (var path in new[] { "/healthz", "/health2", "/health/x" })
        {
            var lookalike = await RawHttp.GetAsync(server, path, TargetHost);
            Expect($"{path} with an IP Host → 400 from host filtering", lookalike.Status == 400, lookalike);
        }

        if (failures.Count > 0)
        {
            Assert.Fail($"{template} app ({template.Directory}):\n{string.Join('\n', failures)}\nApp output:\n{app.Output}");
        }
    }

    [Fact]
    public async Task AddDeployHealth_GrpcTemplateApp_RealGrpcClientGetsHealthWhileTheGreeterMeetsThePipeline()
    {
        var template = await TemplateApp.CreateGrpcAsync(_feed);
        await using var app = await template.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.Address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { UseProxy = false } });
        var client = new Health.HealthClient(channel);
        var invoker = channel.CreateCallInvoker();
        var failures = new List<string>();

        // The port can accept a moment before the host has started, while readiness still says NOT_SERVING (starting).
        await ServerHost.WaitUntilAsync(
            "Check to answer SERVING",
            async () =>
            {
                try
                {
                    return (await client.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving;
                }
                catch (RpcException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(30));

        foreach (var service in new[] { "readiness", "liveness" })
        {
            var status = (await client.CheckAsync(new HealthCheckRequest { Service = service })).Status;
            if (status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                failures.Add($"Check {service}: {status}");
            }
        }

        var unknown = await CallAsync(() => client.CheckAsync(new HealthCheckRequest { Service = "greet.Greeter" }).ResponseAsync);
        if (unknown != StatusCode.NotFound)
        {
            failures.Add($"Check greet.Greeter (unknown to HealthKit, no health service in the app): {unknown}, not NotFound");
        }

        var alb = await CallAsync(() => invoker.AsyncUnaryCall(Unary("AWS.ALB", "healthcheck"), null, new CallOptions(), []).ResponseAsync);
        if (alb != StatusCode.Unimplemented)
        {
            failures.Add($"/AWS.ALB/healthcheck while ready: {alb}, not Unimplemented (12)");
        }

        // The app's own gRPC service is not bypassed: its IP authority meets host filtering (400).
        var greeter = await CallAsync(() => invoker.AsyncUnaryCall(Unary("greet.Greeter", "SayHello"), null, new CallOptions(), []).ResponseAsync);
        if (greeter == StatusCode.OK)
        {
            failures.Add("greet.Greeter/SayHello with an IP authority answered OK: it must meet the app's host filtering");
        }

        // What the start-up warning is about: Kestrel answers HTTP/1.x on an HTTP/2-only endpoint itself.
        var http1 = await RawHttp.GetAsync(app.Address, "/health", TargetHost);
        if (http1.Status != 400)
        {
            failures.Add($"GET /health over HTTP/1.1: {Describe(http1)}, not Kestrel's 400");
        }

        try
        {
            await ServerHost.WaitUntilAsync("the HTTP/2-only warning (event 220) in the app's output", () => Task.FromResult(app.Output.Contains("[220]", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            failures.Add("no warning with event id 220 in the app's output");
        }

        if (failures.Count > 0)
        {
            Assert.Fail($"grpc app ({template.Directory}):\n{string.Join('\n', failures)}\nApp output:\n{app.Output}");
        }
    }

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(static bytes => bytes, static bytes => bytes);

    private static Method<byte[], byte[]> Unary(string service, string method) => new(MethodType.Unary, service, method, Raw, Raw);

    private static async Task<StatusCode> CallAsync(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    private static string Describe(RawResponse response)
    {
        const int Shown = 100;
        var body = response.Body.Length <= Shown ? response.Body : response.Body[..Shown] + "…";
        return $"{response.Version} {response.Status} [{string.Join("; ", response.Headers.Select(h => h.Key + ": " + h.Value))}] {body.ReplaceLineEndings(" ")}";
    }
}

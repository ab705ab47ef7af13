// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Probing;

/// <summary>
/// Methods are case-sensitive (RFC 9110): <c>head</c> and <c>get</c> are unknown methods. On every HTTP door they get
/// what <c>POST</c> gets (405 with Allow), never the 500 that reading <c>head</c> as HEAD used to give. The parse alone:
/// <see cref="ProbeMethodParseTests"/>.
/// </summary>
public sealed class ProbeMethodTests
{
    private const string IpHost = "127.0.0.1:8080";

    [Theory]
    [InlineData("head", "/health")]
    [InlineData("head", "/health/live")]
    [InlineData("get", "/health")]
    [InlineData("Head", "/health/ready")]
    [InlineData("options", "/health")]
    public async Task Middleware_LowerCaseMethodWithHost_Answers405NeverA500(string method, string path)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var response = await RawHttp.GetAsync(app.Address, path, IpHost, method: method);

        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD, OPTIONS", response.Header("Allow"));
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Theory]
    [InlineData("head")]
    [InlineData("get")]
    public async Task Middleware_LowerCaseMethodHttp10WithoutHost_Answers405(string method)
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var response = await RawHttp.GetAsync(app.Address, "/health", host: null, method: method, version: "HTTP/1.0");

        Assert.Equal(405, response.Status);
    }

    [Theory]
    [InlineData("head")]
    [InlineData("get")]
    [InlineData("options")]
    public async Task ConnectionDoor_LowerCaseMethodHttp11WithoutHost_NotAProbeSoKestrels400(string method)
    {
        // The connection door answers only GET, HEAD and OPTIONS; a lower-case method is no probe, so Kestrel refuses
        // the missing Host as it does for any request. Never a 500.
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Web);

        var response = await RawHttp.GetAsync(app.Address, "/health", host: null, method: method);

        Assert.Equal(400, response.Status);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Tests.Lifecycle;

public sealed class ProbeSelfTestTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://[::]:8080", "http://[::1]:8080/")]
    [InlineData("http://+:80", "http://127.0.0.1/")]
    [InlineData("http://*:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://localhost:5000", "http://127.0.0.1:5000/")]
    public void PickTarget_WildcardOrNamedHost_BecomesLoopback(string address, string expected)
    {
        Assert.Equal(new Uri(expected), ProbeSelfTest.PickTarget([address]));
    }

    [Fact]
    public void PickTarget_HttpsAndHttp_PrefersHttp_AsBalancersProbe()
    {
        Assert.Equal(new Uri("http://127.0.0.1:5000/"), ProbeSelfTest.PickTarget(["https://127.0.0.1:5001", "http://127.0.0.1:5000"]));
        Assert.Equal(new Uri("https://127.0.0.1:5001/"), ProbeSelfTest.PickTarget(["https://127.0.0.1:5001"]));
        Assert.Null(ProbeSelfTest.PickTarget([]));
        Assert.Null(ProbeSelfTest.PickTarget(["unix:/tmp/app.sock"]));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 17", 200, null)]
    [InlineData("HTTP/1.0 400 Bad Request", 400, null)]
    [InlineData("HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation:  https://www.example.com/health/live ", 307, "https://www.example.com/health/live")]
    public void ParseHead_StatusLineAndHeaders_StatusAndLocation(string head, int status, string? location)
    {
        Assert.Equal((status, location), ProbeSelfTest.ParseHead(head));
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.2")]
    [InlineData("HTTP/1.1 OK")]
    [InlineData("")]
    public void ParseHead_NotAnHttpStatusLine_Throws(string head)
    {
        var error = Assert.Throws<InvalidDataException>(() => ProbeSelfTest.ParseHead(head));
        Assert.Contains(head, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_RedirectInFrontOfHealthKit_SelfTestFailedNamesStatusAndLocation()
    {
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.AddDeployHealth();
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, RedirectEverythingFilter>());
        });

        var failed = await app.WaitForLogAsync("SelfTestFailed");

        Assert.Equal(11, failed.Id.Id);
        Assert.Contains($"GET {app.Address}health/live with Host 10.0.0.5:8080", failed.Message, StringComparison.Ordinal);
        Assert.Contains("got 308 (Location: https://www.example.com/health/live)", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_HealthKitAnswers_SelfTestPassed_AndCompletes()
    {
        await using var app = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth());

        await SelfTest(app).Completion.WaitAsync(TimeSpan.FromSeconds(30));

        var passed = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "SelfTestPassed");
        Assert.Contains($"{app.Address}health/live answered 200", passed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_Http2OnlyApp_SelfTestSkipped_NoFalseFailure()
    {
        // Tried: a dotnet new grpc-shaped app (every endpoint HTTP/2 only), where Kestrel answers the self-test's
        // HTTP/1.1 request with 400 by design.
        await using var app = await GrpcTemplateApp.StartAsync();

        await SelfTest(app).Completion.WaitAsync(TimeSpan.FromSeconds(30));

        var logs = app.Logs.GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Id.Name is "SelfTestFailed" or "SelfTestError");
        Assert.Contains(logs, r => r.Id.Name == "SelfTestSkipped" && r.Message.Contains("HTTP/2 only", StringComparison.Ordinal));
    }

    [Fact]
    public void PickTarget_Http2OnlyPortBesideHttp1_PicksTheHttp1One()
    {
        Assert.Equal(
            new Uri("http://127.0.0.1:5001/"),
            ProbeSelfTest.PickTarget(["http://127.0.0.1:5000", "http://127.0.0.1:5001"], port => port == 5000));
        Assert.Null(ProbeSelfTest.PickTarget(["http://127.0.0.1:5000"], port => port == 5000));
    }

    [Fact]
    public async Task Stop_HostNeverStarted_StopsWithoutWaitingForTheSelfTest()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddDeployHealth();
        await using var app = builder.Build();
        var selfTest = app.Services.GetRequiredService<ProbeSelfTest>();

        selfTest.Start();
        await selfTest.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(selfTest.Completion.IsCompleted);
    }

    internal static ProbeSelfTest SelfTest(KestrelApp app) =>
        app.Services.GetRequiredService<ProbeSelfTest>();

    private sealed class RedirectEverythingFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Run(context =>
            {
                context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
                context.Response.Headers.Location = "https://www.example.com" + context.Request.Path;
                return Task.CompletedTask;
            });
            next(app);
        };
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Doors.Http;

public sealed class ProbeStartupFilterTests
{
    [Fact]
    public async Task Start_FilterInsertedInFrontOfHealthKit_WarnsNamingIt_AndSelfTestReportsWhatAnswered()
    {
        await using var app = await KestrelApp.StartAsync(builder =>
        {
            builder.Services.AddDeployHealth();
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, RejectEverythingFilter>());
        });

        var warning = await app.WaitForLogAsync("StartupFilterInFront");
        var selfTest = await app.WaitForLogAsync("SelfTestFailed");

        Assert.Contains(typeof(RejectEverythingFilter).FullName!, warning.Message);
        Assert.Contains("got 418", selfTest.Message);
        Assert.Contains("/health/live", selfTest.Message);
    }

    [Fact]
    public async Task Start_HealthKitFirst_NoWarning_SelfTestPasses()
    {
        await using var app = await HardenedApp.StartAsync(TemplateStyle.Mvc);

        await app.WaitForLogAsync("SelfTestPassed");

        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name is "StartupFilterInFront" or "SelfTestFailed" or "SelfTestError");
    }

    [Fact]
    public async Task Start_SelfTestDisabled_SendsNothing()
    {
        await using var app = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth(o => o.SelfTest = false));

        await HealthKit.Tests.Lifecycle.ProbeSelfTestTests.SelfTest(app).Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name is "SelfTestPassed");
    }

    private sealed class RejectEverythingFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Run(context =>
            {
                context.Response.StatusCode = StatusCodes.Status418ImATeapot;
                return Task.CompletedTask;
            });
            next(app);
        };
    }
}

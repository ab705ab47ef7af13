// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Smoke;

/// <summary>
/// A smoke page that throws, on a real app on Kestrel with the exception handling the templates have: what the app
/// logs while HealthKit renders it stays out of the logs, and HealthKit's transition line says once what failed.
/// </summary>
public sealed class SmokeRenderLogsTests
{
    private const int Evaluations = 5;

    [Fact]
    public async Task Render_PageThrowsBehindUseExceptionHandler_OneTransitionLineAndNoStackPerEvaluation()
    {
        await using var app = await StartAsync("Production", app =>
        {
            app.UseExceptionHandler("/error");
            app.MapGet("/error", () => Results.Problem());
        });

        await AssertOneLineForEvaluationsAsync(app, "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware");
    }

    [Fact]
    public async Task Render_PageThrowsOnDevelopmentExceptionPage_OneTransitionLineAndNoStackPerEvaluation()
    {
        // WebApplication adds the developer exception page itself in Development.
        await using var app = await StartAsync("Development", _ => { });

        await AssertOneLineForEvaluationsAsync(app, "Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware");
    }

    private static Task<KestrelApp> StartAsync(string environment, Action<WebApplication> errors) =>
        KestrelApp.StartAsync(
            // A generous render timeout: a cold first render on a busy machine must still reach the page's exception.
            builder => builder.Services.AddDeployHealth(o => o.AutoDiscover = false).AddSmokePage("/basket", p => p.Timeout = TimeSpan.FromSeconds(30)),
            app =>
            {
                errors(app);
                app.MapGet("/basket", string () => throw new InvalidOperationException("Basket service is not registered.\nSecond line of the message."));
            },
            environment: environment);

    private static async Task AssertOneLineForEvaluationsAsync(KestrelApp app, string handlerCategory)
    {
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();
        HealthReportEntry entry = default;
        for (var i = 0; i < Evaluations; i++)
        {
            entry = (await evaluator.EvaluateNowAsync()).Report.Entries["smoke /basket"];
        }

        var duringRenders = app.Logs.GetSnapshot();

        // A user's own request still logs what the app's exception handling logs: only renders are kept out.
        var user = await RawHttp.GetAsync(app.Address, "/basket", "localhost");
        var afterUser = app.Logs.GetSnapshot();

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("GET /basket → 500, threw InvalidOperationException: Basket service is not registered.", entry.Description);
        var leaked = duringRenders.Where(r => r.Category == handlerCategory || r.Exception is InvalidOperationException).ToList();
        Assert.True(leaked.Count == 0, "Logged during renders: " + string.Join(" | ", leaked.Select(r => $"{r.Category}: {r.Message}")));
        var transitions = duringRenders.Where(r => r.Id.Name == "CheckNotHealthy" && r.Message.Contains("'smoke /basket'", StringComparison.Ordinal)).ToList();
        var transition = Assert.Single(transitions);
        Assert.Contains("'smoke /basket' is Unhealthy", transition.Message, StringComparison.Ordinal);
        Assert.Contains("GET /basket → 500, threw InvalidOperationException: Basket service is not registered.", transition.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Second line", transition.Message, StringComparison.Ordinal);
        Assert.Equal(500, user.Status);
        Assert.Contains(afterUser, r => r.Category == handlerCategory && r.Exception is InvalidOperationException);
    }
}

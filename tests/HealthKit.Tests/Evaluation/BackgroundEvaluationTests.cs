// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Evaluation;

public sealed class BackgroundEvaluationTests
{
    [Fact]
    public async Task FirstEvaluation_SmokePage_RunsOnceThePipelineIsBuilt_NeverReportsItMissing()
    {
        // Tried: background evaluation with a smoke page, as an app with a probe port runs it. Hosted services start
        // before the server builds the pipeline; an evaluation at that moment reported the page unrenderable.
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().AddSmokePage("/page"),
            web => web.MapGet("/page", () => Results.Text("page")),
            new Dictionary<string, string?>
            {
                ["DeployHealth:BackgroundEvaluation"] = "true",
                ["DeployHealth:SelfTest"] = "false",
            });
        var evaluator = app.Services.GetRequiredService<HealthEvaluator>();

        var until = DateTime.UtcNow.AddSeconds(30);
        while (evaluator.Last is null && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.NotNull(evaluator.Last);
        Assert.Equal(HealthStatus.Healthy, evaluator.Last.Report.Entries["smoke /page"].Status);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Message.Contains("pipeline is not built", StringComparison.Ordinal));
    }
}

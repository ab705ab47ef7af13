// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

// Beside ServiceDefaults' exporter, the spans the app exports are kept in memory and counted by path at /spans, so the
// tests can see that probes leave none while ordinary requests are traced.
var spans = new ExportedSpans();
builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans));

// A dependency the tests can break and mend: /toggle?state=fail makes it fail readiness, /toggle?state=pass mends it.
// It is not tagged live, so liveness (HealthKit's /health/live, Aspire's /alive) never follows it.
var toggle = new Toggle();
builder.Services.AddHealthChecks().AddCheck("toggle", () => toggle.Failing ? HealthCheckResult.Unhealthy("Switched off by /toggle.") : HealthCheckResult.Healthy());

// In Development anyone may read the details, so the tests can see which checks readiness ran.
builder.Services.AddAuthorizationBuilder().AddPolicy("health-details", policy => policy.RequireAssertion(_ => true));
builder.Services.AddDeployHealth(options =>
{
    if (builder.Environment.IsDevelopment())
    {
        options.DetailsPolicy = "health-details";
    }
});

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGet("/", () => "HealthKit under Aspire");
app.MapGet("/spans", spans.CountByPath);
app.MapGet("/toggle", (string state) =>
{
    toggle.Failing = string.Equals(state, "fail", StringComparison.Ordinal);
    return toggle.Failing ? "fail" : "pass";
});
app.Run();

/// <summary>Whether the <c>toggle</c> check fails.</summary>
internal sealed class Toggle
{
    private volatile bool _failing;

    /// <summary>Gets or sets whether the check fails.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }
}

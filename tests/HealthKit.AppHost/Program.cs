// Copyright (c) HealthKit contributors. Licensed under the MIT License.

var builder = DistributedApplication.CreateBuilder(args);

// The app has no launch profile, so its endpoint (a free port) and environment are given here; an app made from a
// template gets both from its launchSettings.json. WithHttpHealthCheck is the line an Aspire user adds: Aspire's health
// for the resource is then HealthKit's readiness.
builder.AddProject<Projects.HealthKit_AspireApp>("app")
    .WithHttpEndpoint()
    .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Development")
    .WithHttpHealthCheck("/health");

builder.Build().Run();

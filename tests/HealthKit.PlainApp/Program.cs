// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDeployHealth();

var app = builder.Build();
app.MapGet("/", () => "Hello World!");

// What the tests read: every assembly loaded into the process so far, one name a line.
app.MapGet("/loaded-assemblies", () => string.Join('\n', AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal)));

app.Run();

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// The app tests/HealthKit.Benchmarks/dependencies.sh loads with wrk: the same binary answers readiness either with
// HealthKit (/health: discovered check, 2 s cache, single flight, 2 s deadline) or with ASP.NET Core's
// MapHealthChecks (/hc) and the AspNetCore.HealthChecks check for the same PostgreSQL or Redis, evaluated on every
// request. It listens on a free port of 127.0.0.1, prints "listening URL" once it accepts connections, and stops
// on SIGTERM or SIGINT.
//
// Usage: HealthKit.Benchmarks.Dependencies --mode healthkit|healthchecks --dependency postgres|redis --connection STRING
var mode = Option(args, "--mode", "healthkit", "healthchecks");
var dependency = Option(args, "--dependency", "postgres", "redis");
var connection = Option(args, "--connection");
if (mode is null || dependency is null || connection is null)
{
    await Console.Error.WriteLineAsync("usage: --mode healthkit|healthchecks --dependency postgres|redis --connection STRING");
    return 2;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    EnvironmentName = "Production",
    ContentRootPath = AppContext.BaseDirectory,
});
builder.WebHost.UseUrls("http://127.0.0.1:0");

// No drain delay, so that the script's SIGTERM stops the app at once; HealthKit's other settings are its defaults.
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:00" });

// Per-request logs would measure the console; production apps log warnings.
builder.Logging.SetMinimumLevel(LogLevel.Warning);

if (mode == "healthkit")
{
    // What an application has anyway; HealthKit discovers it and checks it.
    if (dependency == "postgres")
    {
        builder.Services.AddNpgsqlDataSource(connection);
    }
    else
    {
        builder.Services.AddStackExchangeRedisCache(o => o.Configuration = connection);
    }

    builder.Services.AddDeployHealth();
}
else if (dependency == "postgres")
{
    builder.Services.AddHealthChecks().AddNpgSql(connection);
}
else
{
    builder.Services.AddHealthChecks().AddRedis(connection);
}

var app = builder.Build();
if (mode == "healthchecks")
{
    app.MapHealthChecks("/hc");
}

await app.StartAsync();
foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
{
    Console.WriteLine($"listening {address}");
}

await app.WaitForShutdownAsync();
return 0;

static string? Option(string[] args, string name, params string[] allowed)
{
    var index = Array.IndexOf(args, name);
    if (index < 0 || index + 1 >= args.Length)
    {
        return null;
    }

    var value = args[index + 1];
    return allowed.Length == 0 || allowed.Contains(value) ? value : null;
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDeployHealth();

var app = builder.Build();

// A bare endpoint: what any request of the app sees while the pool is starved.
app.MapGet("/ping", () => "pong");

// The most common production fault: a request that holds its pool thread (sync over async, .Result, Thread.Sleep).
// Thread.Sleep, not Task.Wait: the pool injects threads faster for threads blocked on tasks, and the point here is
// a pool that cannot keep up.
app.MapGet("/block", (int? ms) =>
{
    Thread.Sleep(Math.Clamp(ms ?? 2000, 0, 10_000));
    return "blocked";
});

// CPU saturation: a request that spins on its thread.
app.MapGet("/burn", (int? ms) =>
{
    var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * Math.Clamp(ms ?? 2000, 0, 10_000) / 1000);
    var spins = 0L;
    while (Stopwatch.GetTimestamp() < until)
    {
        spins++;
    }

    return spins.ToString(System.Globalization.CultureInfo.InvariantCulture);
});

await app.RunAsync();

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;
using HealthKit.TestWorker;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddHostedService<Worker>();

// The loop beats every 200 ms; two seconds without a beat means it is stuck.
builder.Services.AddDeployHealth().AddHeartbeat(Worker.HeartbeatName, TimeSpan.FromSeconds(2));

var host = builder.Build();
host.Run();

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthKit.Benchmarks;

/// <summary>
/// <c>serve --mode healthkit|plain|nodoor</c>: the <see cref="Scenario"/> app on Kestrel for wrk.sh, with HealthKit,
/// without it, or with HealthKit but without its connection door. It listens on 127.0.0.1 only (a free port unless <c>--urls</c> says otherwise), prints
/// <c>listening http://127.0.0.1:PORT</c> once it accepts connections, and stops on SIGTERM or SIGINT.
/// </summary>
public static class E2eServer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var mode = ModeOf(args);
        if (mode is null)
        {
            await Console.Error.WriteLineAsync("usage: HealthKit.Benchmarks serve --mode healthkit|plain|nodoor [--urls http://127.0.0.1:PORT]");
            return 2;
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args.Where(a => a != "--mode" && a != mode).ToArray(),
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (!args.Contains("--urls"))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }

        // The default 2 s cache, as users run it; no drain delay, so that the script's SIGTERM stops the app at once.
        builder.Configuration.AddInMemoryCollection(Scenario.NoDrain);

        // Per-request logs would measure the console, not the pipeline; a real app in production logs warnings.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        Scenario.AddServices(builder.Services, healthKit: mode != "plain");
        if (mode == "nodoor")
        {
            Scenario.RemoveConnectionDoor(builder.Services);
        }

        var app = builder.Build();
        Scenario.MapEndpoints(app);
        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            Console.WriteLine($"listening {address}");
        }

        await app.WaitForShutdownAsync();
        return 0;
    }

    private static string? ModeOf(string[] args)
    {
        var index = Array.IndexOf(args, "--mode");
        if (index < 0 || index + 1 >= args.Length)
        {
            return null;
        }

        return args[index + 1] is "healthkit" or "plain" or "nodoor" ? args[index + 1] : null;
    }
}

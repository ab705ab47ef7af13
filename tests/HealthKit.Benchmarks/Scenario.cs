// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Benchmarks;

/// <summary>
/// The one app every measurement uses, in process or on Kestrel, with or without HealthKit: the same trivial health
/// check and the same endpoints, so that the only difference between two figures is the thing compared.
/// </summary>
public static class Scenario
{
    public const string CheckName = "trivial";
    public const string HomePath = "/";
    public const string HomeBody = "home";
    public const string PingPath = "/ping";
    public const string PingBody = "pong";
    public const string AsyncHomePath = "/async";
    public const string MapHealthChecksPath = "/hc";
    public const string ProbePath = "/health";
    public const string Pass = """{"status":"pass"}""";

    /// <summary>
    /// No drain delay: HealthKit's default keeps a stopping app serving for 10 s, which here would only slow the
    /// end of every run.
    /// </summary>
    public static readonly IDictionary<string, string?> NoDrain = new Dictionary<string, string?>
    {
        ["DeployHealth:Drain:Delay"] = "00:00:00",
    };

    /// <summary>
    /// No drain delay, and a cache long enough that evaluations are negligible while a cached probe is measured. Start-up
    /// refuses a cache longer than the probe timeout and a probe timeout longer than 5 minutes: both at that limit.
    /// </summary>
    public static readonly IDictionary<string, string?> LongCache = new Dictionary<string, string?>
    {
        ["DeployHealth:Drain:Delay"] = "00:00:00",
        ["DeployHealth:BalancerProbeTimeout"] = "00:05:00",
        ["DeployHealth:CacheDuration"] = "00:05:00",
    };

    public static void AddServices(IServiceCollection services, bool healthKit)
    {
        if (healthKit)
        {
            services.AddDeployHealth();
        }

        services.AddHealthChecks().AddCheck(CheckName, static () => HealthCheckResult.Healthy());
    }

    /// <summary>
    /// Takes the Kestrel connection door out of an app with HealthKit, leaving everything else of HealthKit in place, so
    /// that the door's own cost is the only difference between two figures.
    /// </summary>
    public static void RemoveConnectionDoor(IServiceCollection services)
    {
        var setup = services.Single(d => d.ImplementationType == typeof(HealthKit.Doors.Connection.ConnectionDoorSetup));
        services.Remove(setup);
    }

    public static void MapEndpoints(WebApplication app)
    {
        app.MapGet(HomePath, static () => HomeBody);
        app.MapGet(PingPath, static () => PingBody);

        // An endpoint that completes asynchronously, as any that awaits a database does.
        app.MapGet(AsyncHomePath, static async () =>
        {
            await Task.Yield();
            return HomeBody;
        });
        app.MapHealthChecks(MapHealthChecksPath);
    }

    /// <summary>The least any request can cost: the first middleware writes a constant body and returns.</summary>
    public static void MapFloor(WebApplication app)
    {
        app.Run(static context =>
        {
            context.Response.ContentType = "application/health+json";
            context.Response.ContentLength = PassBytes.Length;
            return context.Response.Body.WriteAsync(PassBytes, 0, PassBytes.Length, context.RequestAborted);
        });
    }

    private static readonly byte[] PassBytes = """{"status":"pass"}"""u8.ToArray();
}

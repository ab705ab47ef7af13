// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Grpc.Health.V1;
using HealthKit.Doors.Command;
using HealthKit.Evaluation;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace HealthKit.Tests.Verdict;

/// <summary>
/// The verdict's liveness on the wire: every door (the main port, Kestrel's connection door, the probe listener,
/// <c>--health-probe live</c>, gRPC's <c>liveness</c>) answers from it. The rule itself is in <see cref="HealthVerdictTests"/>.
/// </summary>
public sealed class LivenessDoorsTests
{
    [Fact]
    public async Task Liveness_LiveTaggedCheckFails_EveryHttpDoorAndTheProbeCommandAnswerNotLive()
    {
        // A failing dependency check of the app's (not tagged live) never counts; the live-tagged one does, on the
        // main port (first middleware), Kestrel's connection door (HTTP/1.1 without Host), the probe listener, and
        // `--health-probe live`, which asks the probe listener when DeployHealth:ProbeListener:Port is set.
        var live = new LiveSwitch();
        var probePort = ServerHost.GetFreePort();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth()
                .AddCheck("db", () => HealthCheckResult.Unhealthy("down"))
                .AddCheck("self", live.Check, [HealthKit.Registry.HealthKitRegistry.LiveTag]),
            app => app.MapGet("/", () => "home"),
            new Dictionary<string, string?>
            {
                ["DeployHealth:AutoDiscover"] = "false",
                ["DeployHealth:CacheDuration"] = "00:00:00.200",
                ["DeployHealth:ProbeListener:Port"] = probePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
            });
        var command = ProbeCommand.Parse(
            ["app.dll", ProbeCommand.Flag, "live"],
            name => name switch
            {
                "DeployHealth__ProbeListener__Port" => probePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "DeployHealth__ProbeListener__Address" => "127.0.0.1",
                _ => null,
            })!;

        var alive = await DoorsAsync(app, command);
        live.Fail();
        var stuck = alive;
        await ServerHost.WaitUntilAsync(
            "every door to report the failing live check",
            async () => (stuck = await DoorsAsync(app, command)) is (503, 503, 503, 1),
            TimeSpan.FromSeconds(30));

        Assert.Equal((200, 200, 200, 0), alive);
        Assert.Equal((503, 503, 503, 1), stuck);
    }

    [Fact]
    public async Task Liveness_LiveTaggedCheckFails_GrpcLivenessNotServing()
    {
        var live = new LiveSwitch();
        await using var app = await GrpcTemplateApp.StartAsync(
            health => health.AddCheck("self", live.Check, [HealthKit.Registry.HealthKitRegistry.LiveTag]),
            new Dictionary<string, string?> { ["DeployHealth:CacheDuration"] = "00:00:00.200" });
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        var request = new HealthCheckRequest { Service = "liveness" };

        // The gRPC door never waits for an evaluation: the live checks' first result is waited for here.
        await app.Services.GetRequiredKeyedService<HealthEvaluator>(HealthEvaluator.LivenessKey).GetAsync();
        var serving = (await client.CheckAsync(request)).Status;
        live.Fail();
        var status = serving;
        await ServerHost.WaitUntilAsync(
            "gRPC liveness to report the failing live check",
            async () => (status = (await client.CheckAsync(request)).Status) == ServingStatus.NotServing,
            TimeSpan.FromSeconds(30));

        Assert.Equal(ServingStatus.Serving, serving);
        Assert.Equal(ServingStatus.NotServing, status);
    }

    private static async Task<(int Main, int Connection, int ProbePort, int Command)> DoorsAsync(KestrelApp app, Uri command)
    {
        var main = await RawHttp.GetAsync(app.Address, "/health/live", "127.0.0.1");
        var connection = await RawHttp.GetAsync(app.Address, "/health/live", host: null);
        var probePort = await RawHttp.GetAsync(app.ProbeAddress, "/health/live", host: null, version: "HTTP/1.0");
        using var output = new StringWriter();
        var exit = ProbeCommand.Run(command, output);
        return (main.Status, connection.Status, probePort.Status, exit);
    }

    /// <summary>A live check that passes until told to fail.</summary>
    private sealed class LiveSwitch
    {
        private volatile bool _failing;

        public void Fail() => _failing = true;

        public HealthCheckResult Check() => _failing ? HealthCheckResult.Unhealthy("stuck") : HealthCheckResult.Healthy();
    }
}

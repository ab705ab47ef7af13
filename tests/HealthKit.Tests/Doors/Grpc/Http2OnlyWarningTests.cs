// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Doors.Grpc;

/// <summary>The start-up warning for an app whose every endpoint speaks HTTP/2 only, on real Kestrel.</summary>
public sealed class Http2OnlyWarningTests
{
    private const string Warning = "Http2OnlyEndpoints";

    [Fact]
    public async Task StartedAsync_GrpcTemplateProtocols_WarnsOnceNamingWhatReachesAndHowToAddHttp1()
    {
        await using var app = await GrpcTemplateApp.StartAsync();

        var entry = await app.WaitForLogAsync(Warning);

        Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == Warning);
        Assert.Equal(220, entry.Id.Id);
        Assert.Contains(app.Address.Authority, entry.Message, StringComparison.Ordinal);
        Assert.Contains("gRPC health checks reach HealthKit", entry.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.x probes cannot", entry.Message, StringComparison.Ordinal);
        Assert.Contains("Kestrel:Endpoints:Probes:Protocols = Http1", entry.Message, StringComparison.Ordinal);
        Assert.Contains("DeployHealth:ProbeListener:Port", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartedAsync_KestrelDefaultProtocols_NoWarning()
    {
        await using var app = await KestrelApp.StartAsync(builder => builder.Services.AddDeployHealth());

        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name == Warning);
    }

    [Fact]
    public async Task StartedAsync_Http1EndpointNextToHttp2Defaults_NoWarning()
    {
        await using var app = await GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Probes:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Probes:Protocols"] = "Http1",
        });

        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Name == Warning);
    }

    [Fact]
    public async Task StartedAsync_EveryConfiguredEndpointHttp2_Warns()
    {
        await using var app = await GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["Kestrel:EndpointDefaults:Protocols"] = null,
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
        });

        await app.WaitForLogAsync(Warning);
    }
}

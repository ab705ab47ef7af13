// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Benchmarks;

/// <summary>
/// (d) One cached grpc.health.v1 Check through HealthKit's gRPC door, against the same app's cached HTTP probe and
/// against grpc-dotnet's own health service (<c>AddGrpc()</c> and <c>MapGrpcService&lt;HealthServiceImpl&gt;()</c>,
/// what an app without HealthKit maps), each through a real pipeline. Requests carry what Kestrel gives an HTTP/2
/// call: <c>HTTP/2</c>, POST, <c>application/grpc</c>, the framed message as the body, a trailers feature. The gRPC
/// floor (a first middleware that reads the request through <c>BodyReader</c>, writes the answer frame through
/// <c>BodyWriter</c> and sets <c>grpc-status</c>) pays what the harness and hosting cost such a call, so HealthKit's own
/// allocations per Check are the Check's Allocated minus the gRPC floor's.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ByteSizeConfig))]
public class GrpcBenchmarks
{
    private const string CheckPath = "/grpc.health.v1.Health/Check";

    // HealthCheckRequest { service = "" }: the empty message, framed.
    private static readonly byte[] EmptyRequest = [0, 0, 0, 0, 0];
    private static readonly byte[] Serving = [0, 0, 0, 0, 2, 0x08, 0x01];

    private BenchmarkApp _healthKit = null!;
    private BenchmarkApp _grpcDotnet = null!;
    private BenchmarkApp _floor = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _healthKit = await BenchmarkApp.StartAsync(b => Scenario.AddServices(b.Services, healthKit: true), Scenario.MapEndpoints, Scenario.LongCache);
        _grpcDotnet = await BenchmarkApp.StartAsync(
            b =>
            {
                b.Services.AddGrpc();
                var health = new HealthServiceImpl();
                health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.Serving);
                b.Services.AddSingleton(health);
            },
            app => app.MapGrpcService<HealthServiceImpl>());
        _floor = await BenchmarkApp.StartAsync(_ => { }, static app => app.Run(FloorAsync));

        await _healthKit.ExpectAsync(Scenario.ProbePath, 200, Scenario.Pass);
        await ExpectServingAsync(_healthKit);
        await ExpectServingAsync(_grpcDotnet);
        await ExpectServingAsync(_floor);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _healthKit.DisposeAsync();
        await _grpcDotnet.DisposeAsync();
        await _floor.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "HealthKit /health (cached, HTTP/1.1)")]
    public Task HttpProbe() => _healthKit.SendAsync(BenchmarkRequest.Create(Scenario.ProbePath));

    [Benchmark(Description = "HealthKit gRPC Check (cached)")]
    public Task HealthKitCheck() => _healthKit.SendAsync(CheckRequest(Stream.Null));

    [Benchmark(Description = "grpc-dotnet HealthServiceImpl Check")]
    public Task GrpcDotnetCheck() => _grpcDotnet.SendAsync(CheckRequest(Stream.Null));

    [Benchmark(Description = "gRPC floor: first middleware, read, constant frame")]
    public Task GrpcFloor() => _floor.SendAsync(CheckRequest(Stream.Null));

    private static async Task FloorAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var read = await reader.ReadAsync(context.RequestAborted);
        reader.AdvanceTo(read.Buffer.End);
        context.Response.ContentType = "application/grpc";
        await context.Response.BodyWriter.WriteAsync(Serving, context.RequestAborted);
        context.Features.Get<IHttpResponseTrailersFeature>()!.Trailers.GrpcStatus = "0";
    }

    private static IFeatureCollection CheckRequest(Stream responseBody)
    {
        var features = BenchmarkRequest.Create(CheckPath, method: "POST", body: responseBody);
        var request = features.Get<IHttpRequestFeature>()!;
        request.Protocol = "HTTP/2";
        request.Scheme = "http";
        request.Headers.ContentType = "application/grpc";
        request.Headers.TE = "trailers";
        request.Body = new MemoryStream(EmptyRequest, writable: false);
        features.Set<IHttpResponseTrailersFeature>(new TrailersFeature());
        return features;
    }

    private static async Task ExpectServingAsync(BenchmarkApp app)
    {
        using var body = new MemoryStream();
        var features = CheckRequest(body);
        await app.SendAsync(features).ConfigureAwait(false);

        // What Kestrel does once the application returns: flush what the response body writer still holds.
        await features.Get<IHttpResponseBodyFeature>()!.CompleteAsync().ConfigureAwait(false);
        var trailers = features.Get<IHttpResponseTrailersFeature>()!.Trailers;
        var headers = features.Get<IHttpResponseFeature>()!.Headers;
        var status = trailers.GrpcStatus.Count > 0 ? trailers.GrpcStatus.ToString() : headers.GrpcStatus.ToString();
        if (status != "0" || !body.ToArray().AsSpan().SequenceEqual(Serving))
        {
            throw new InvalidOperationException($"Check: expected grpc-status 0 and SERVING, got grpc-status '{status}' and {Convert.ToHexString(body.ToArray())}.");
        }
    }

    private sealed class TrailersFeature : IHttpResponseTrailersFeature
    {
        public IHeaderDictionary Trailers { get; set; } = new HeaderDictionary();
    }
}

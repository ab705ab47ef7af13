// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;
using Grpc.Health.V1;
using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace HealthKit.Tests.Doors.Grpc;

/// <summary>
/// grpc.health.v1 and ALB's gRPC default path, asked by a real gRPC client (Grpc.Net.Client with Grpc.HealthCheck's
/// generated client) of a <c>dotnet new grpc</c>-shaped app on real Kestrel: HTTP/2 only, AllowedHosts restricted, a
/// fallback authorization policy, the app's own gRPC health service mapped. The client connects to 127.0.0.1, so every
/// call HealthKit answers got past where host filtering would have refused it.
/// </summary>
public sealed class GrpcHealthDoorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    // Fast re-evaluation, so a Watch sees a changed dependency within a poll's bound.
    private static readonly Dictionary<string, string?> QuickCache = new() { ["DeployHealth:CacheDuration"] = "00:00:00.200" };

    [Theory]
    [InlineData("")]
    [InlineData("readiness")]
    [InlineData("liveness")]
    public async Task Check_KnownService_ServingWithoutAddGrpcInFrontOfHostFilteringAndAuth(string service)
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);

        var response = await client.CheckAsync(new HealthCheckRequest { Service = service });

        Assert.Equal(ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Check_UnknownService_NotFound()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);

        var failure = await Assert.ThrowsAsync<RpcException>(async () => await client.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }));

        Assert.Equal(StatusCode.NotFound, failure.StatusCode);
    }

    [Fact]
    public async Task Check_ServiceOnlyTheAppsOwnHealthServiceKnows_AnsweredByTheApp()
    {
        await using var app = await GrpcTemplateApp.StartAsync(ownHealthService: true);
        using var channel = GrpcTemplateApp.Channel(app, authority: GrpcTemplateApp.AllowedHost);
        var client = new Health.HealthClient(channel);

        var response = await client.CheckAsync(new HealthCheckRequest { Service = GrpcTemplateApp.AppService });

        Assert.Equal(ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Check_AppMapsItsOwnHealthService_ReadinessStillHealthKits()
    {
        var check = new SwitchableCheck { Healthy = false };
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check), ownHealthService: true);
        using var channel = GrpcTemplateApp.Channel(app, authority: GrpcTemplateApp.AllowedHost);
        var client = new Health.HealthClient(channel);

        // The app's own service has no status for "" (it would answer NOT_FOUND): the verdict answers.
        var response = await client.CheckAsync(new HealthCheckRequest());

        Assert.Equal(ServingStatus.NotServing, response.Status);
    }

    [Fact]
    public async Task Watch_ServiceOnlyTheAppsOwnHealthServiceKnows_WatchedByTheApp()
    {
        await using var app = await GrpcTemplateApp.StartAsync(ownHealthService: true);
        using var channel = GrpcTemplateApp.Channel(app, authority: GrpcTemplateApp.AllowedHost);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest { Service = GrpcTemplateApp.AppService }, cancellationToken: cancel.Token);

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Check_DependencyFails_ReadinessNotServingLivenessServing()
    {
        var check = new SwitchableCheck { Healthy = false };
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check));
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);

        var empty = await client.CheckAsync(new HealthCheckRequest());
        var readiness = await client.CheckAsync(new HealthCheckRequest { Service = "readiness" });
        var liveness = await client.CheckAsync(new HealthCheckRequest { Service = "liveness" });

        Assert.Equal(ServingStatus.NotServing, empty.Status);
        Assert.Equal(ServingStatus.NotServing, readiness.Status);
        Assert.Equal(ServingStatus.Serving, liveness.Status);
    }

    [Fact]
    public async Task Watch_ReadinessFailsThenRecovers_PushesEachChange()
    {
        var check = new SwitchableCheck();
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check), QuickCache);
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest { Service = "readiness" }, cancellationToken: cancel.Token);
        var stream = watch.ResponseStream;

        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, stream.Current.Status);

        check.Healthy = false;
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, stream.Current.Status);

        check.Healthy = true;
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, stream.Current.Status);
    }

    [Fact]
    public async Task Watch_ManualDrain_NotServingThenServingOnResume()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
        var stream = watch.ResponseStream;
        var deploy = app.Services.GetRequiredService<IDrainSwitch>();

        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, stream.Current.Status);

        deploy.Drain();
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, stream.Current.Status);

        deploy.Resume();
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, stream.Current.Status);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:01")]
    public async Task Watch_HostStops_NotServingThenEndsWithOk(string drainDelay)
    {
        var app = await GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = drainDelay });
        try
        {
            Assert.Equal(StatusCode.OK, (await WatchWhileTheHostStopsAsync(app)).StatusCode);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Watch_Prober_InTheDetailsAndOnTheStatusPageWithEachAnswerItIsSent()
    {
        var check = new SwitchableCheck();
        var settings = new Dictionary<string, string?>(QuickCache)
        {
            ["DeployHealth:ProbeListener:DetailsForLoopback"] = "true",
            ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
        };
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check), settings);
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);

        // A Check is a prober of its own, apart from the Watch on the same connection.
        Assert.Equal(ServingStatus.Serving, (await client.CheckAsync(new HealthCheckRequest(), cancellationToken: cancel.Token)).Status);
        var checker = await GrpcProberAsync(app, "Check readiness");
        Assert.Equal(1, checker.GetProperty("probes").GetInt64());
        Assert.Equal(200, checker.GetProperty("lastStatus").GetInt32());
        Assert.False(checker.TryGetProperty("openStreams", out _));

        using (var watch = client.Watch(new HealthCheckRequest { Service = "readiness" }, cancellationToken: cancel.Token))
        {
            var stream = watch.ResponseStream;
            Assert.True(await stream.MoveNext(cancel.Token));
            Assert.Equal(ServingStatus.Serving, stream.Current.Status);
            check.Healthy = false;
            Assert.True(await stream.MoveNext(cancel.Token));
            Assert.Equal(ServingStatus.NotServing, stream.Current.Status);

            // Recorded before it is sent: once the client has read it, the ledger holds it.
            var watcher = await WatchProberAsync(app);
            Assert.Equal("gRPC", watcher.GetProperty("door").GetString());
            Assert.Equal("loopback", watcher.GetProperty("peer").GetString());
            Assert.StartsWith("grpc-dotnet/", watcher.GetProperty("userAgent").GetString(), StringComparison.Ordinal);
            Assert.Equal("readiness", watcher.GetProperty("asks").GetString());
            Assert.Equal(2, watcher.GetProperty("probes").GetInt64());
            Assert.Equal(503, watcher.GetProperty("lastStatus").GetInt32());
            Assert.Equal(1, watcher.GetProperty("consecutiveFailures").GetInt32());
            Assert.Equal(1, watcher.GetProperty("openStreams").GetInt32());

            var page = await RawHttp.GetAsync(app.ProbeAddress, "/health/ui", "localhost");
            Assert.Contains("Watch readiness", page.Body, StringComparison.Ordinal);
            Assert.Contains("stream open", page.Body, StringComparison.Ordinal);
        }

        // The client cancelled its Watch: the stream is closed in the ledger, the prober and its answers stay.
        await ServerHost.WaitUntilAsync("the Watch stream to close in the ledger", async () => (await WatchProberAsync(app)).GetProperty("openStreams").GetInt32() == 0, Bound);
        Assert.Equal(2, (await WatchProberAsync(app)).GetProperty("probes").GetInt64());
    }

    [Fact]
    public async Task Watch_HostStopsWithoutDrainDelay_DrainWaitsForTheWatcherToBeToldThenEnds()
    {
        // No Drain:Delay: the drain that ends when the balancers have let go, the watcher among them.
        var app = await GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = null });
        try
        {
            await WatchWhileTheHostStopsAsync(app);

            var logs = app.Logs.GetSnapshot();
            Assert.Contains("Watch readiness", Assert.Single(logs, r => r.Id.Name == "DrainingUntilBalancersLetGo").Message, StringComparison.Ordinal);
            Assert.Contains("every balancer that was probing has had enough failing answers", Assert.Single(logs, r => r.Id.Name == "DrainEnded").Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Watches readiness, stops the host, and sees the stream say SERVING, then NOT_SERVING, then end; returns the
    /// Watch's final status once the host has stopped.
    /// </summary>
    private static async Task<Status> WatchWhileTheHostStopsAsync(KestrelApp app)
    {
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest { Service = "readiness" }, cancellationToken: cancel.Token);
        var stream = watch.ResponseStream;
        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, stream.Current.Status);

        var stopping = app.App.StopAsync(cancel.Token);

        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, stream.Current.Status);
        Assert.False(await stream.MoveNext(cancel.Token));
        var status = watch.GetStatus();
        await stopping;
        return status;
    }

    /// <summary>The Watch prober as the authorized details document on the loopback probe listener shows it.</summary>
    private static Task<System.Text.Json.JsonElement> WatchProberAsync(KestrelApp app) => GrpcProberAsync(app, "Watch readiness");

    /// <summary>A gRPC prober, by what the ledger calls its question, as the authorized details document shows it.</summary>
    private static async Task<System.Text.Json.JsonElement> GrpcProberAsync(KestrelApp app, string question)
    {
        var document = await RawHttp.GetAsync(app.ProbeAddress, "/health", "localhost");
        using var json = System.Text.Json.JsonDocument.Parse(document.Body);
        var probers = json.RootElement.GetProperty("balancers").GetProperty("probers").EnumerateArray();
        return probers.Single(p => p.GetProperty("path").GetString() == question).Clone();
    }

    [Fact]
    public async Task Watch_UnknownService_ServiceUnknownAndStaysOpen()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest { Service = "no.such.Service" }, cancellationToken: cancel.Token);
        var stream = watch.ResponseStream;

        Assert.True(await stream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.ServiceUnknown, stream.Current.Status);

        // Still open after a second: the next read ends only because the client gives up.
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var ended = await Assert.ThrowsAsync<RpcException>(async () => await stream.MoveNext(giveUp.Token));
        Assert.Equal(StatusCode.Cancelled, ended.StatusCode);
    }

    [Fact]
    public async Task List_EveryService_WithItsStatus()
    {
        var check = new SwitchableCheck { Healthy = false };
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check));
        using var channel = GrpcTemplateApp.Channel(app);

        var statuses = await channel.CreateCallInvoker().AsyncUnaryCall(ListMethod, null, new CallOptions(), Array.Empty<byte>());

        Assert.Equal(3, statuses.Count);
        Assert.Equal(ServingStatus.NotServing, statuses[""].Status);
        Assert.Equal(ServingStatus.NotServing, statuses["readiness"].Status);
        Assert.Equal(ServingStatus.Serving, statuses["liveness"].Status);
    }

    [Fact]
    public async Task AlbDefaultPath_Unimplemented12WhileReady_Unavailable14WhileNot()
    {
        var check = new SwitchableCheck();
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check), QuickCache);
        using var channel = GrpcTemplateApp.Channel(app);
        var invoker = channel.CreateCallInvoker();

        var ready = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(AlbMethod, null, new CallOptions(), Array.Empty<byte>()));
        Assert.Equal(StatusCode.Unimplemented, ready.StatusCode);

        check.Healthy = false;
        await ServerHost.WaitUntilAsync(
            "ALB's path to answer UNAVAILABLE",
            async () =>
            {
                try
                {
                    await invoker.AsyncUnaryCall(AlbMethod, null, new CallOptions(), Array.Empty<byte>());
                    return false;
                }
                catch (RpcException e)
                {
                    return e.StatusCode == StatusCode.Unavailable;
                }
            },
            Bound);
    }

    [Fact]
    public async Task CheckAndWatch_Tls_AnsweredOverHttp2ByAlpn()
    {
        using var certificate = GrpcTemplateApp.MakeCertificate();
        await using var app = await GrpcTemplateApp.StartAsync(certificate: certificate);
        Assert.Equal("https", app.Address.Scheme);
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);

        var check = await client.CheckAsync(new HealthCheckRequest());
        using var cancel = new CancellationTokenSource(Bound);
        using var watch = client.Watch(new HealthCheckRequest { Service = "liveness" }, cancellationToken: cancel.Token);

        Assert.Equal(ServingStatus.Serving, check.Status);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    public static TheoryData<string, byte[], int> MalformedBodies => new()
    {
        { "a header cut short", [0, 0, 0], 13 },
        { "a message cut short", [0, 0, 0, 0, 10, 0x0A, 0x08, (byte)'r'], 13 },
        { "two messages", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 13 },
        { "an invalid compressed flag", [7, 0, 0, 0, 0], 13 },
        { "a compressed message", [1, 0, 0, 0, 2, 0x1f, 0x8b], 12 },
        { "a length over the bound", [0, 0, 0x10, 0, 0, 0x0A], 8 },
        { "a 4 GiB length", [0, 0xFF, 0xFF, 0xFF, 0xFF], 8 },
        { "service with the wrong wire type", [0, 0, 0, 0, 2, 0x08, 0x01], 13 },
        { "a group wire type", [0, 0, 0, 0, 1, 0x0B], 13 },
        { "field number zero", [0, 0, 0, 0, 2, 0x02, 0x00], 13 },
        { "a string longer than the message", [0, 0, 0, 0, 3, 0x0A, 0x7F, (byte)'a'], 13 },
        { "a varint that never ends", [0, 0, 0, 0, 3, 0x10, 0xFF, 0xFF], 13 },
        { "service not UTF-8", [0, 0, 0, 0, 4, 0x0A, 0x02, 0xC3, 0x28], 13 },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Check_MalformedRequest_GrpcStatusNeverA500(string tried, byte[] body, int grpcStatus)
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var http = Http2Client(app);

        using var response = await http.SendAsync(GrpcPost("/grpc.health.v1.Health/Check", body));
        await response.Content.ReadAsByteArrayAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{tried}: HTTP {(int)response.StatusCode}");
        Assert.True(GrpcStatusOf(response) == grpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{tried}: grpc-status {GrpcStatusOf(response)}");
    }

    [Fact]
    public async Task Check_UnknownFieldsAndRepeatedService_ReadAsProtobufDoes()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var http = Http2Client(app);

        // Field 7 (varint), field 9 (fixed64), then service "nope" and service "liveness": the last one wins.
        byte[] message = [0x38, 0x96, 0x01, 0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x04, .."nope"u8, 0x0A, 0x08, .."liveness"u8];
        using var response = await http.SendAsync(GrpcPost("/grpc.health.v1.Health/Check", [0, 0, 0, 0, (byte)message.Length, .. message]));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("0", GrpcStatusOf(response));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 0x08, 0x01 }, body);
    }

    [Fact]
    public async Task Check_EmptyRequestBody_ReadAsTheEmptyMessage()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var http = Http2Client(app);

        using var response = await http.SendAsync(GrpcPost("/grpc.health.v1.Health/Check", []));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("0", GrpcStatusOf(response));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 0x08, 0x01 }, body);
    }

    [Fact]
    public async Task Check_AlbHealthCheckerWhileNotReady_Unavailable14ForMatcher0()
    {
        var check = new SwitchableCheck { Healthy = false };
        await using var app = await GrpcTemplateApp.StartAsync(health => health.AddCheck(SwitchableCheck.Name, check));
        using var http = Http2Client(app);
        var albRequest = GrpcPost("/grpc.health.v1.Health/Check", [0, 0, 0, 0, 0]);
        albRequest.Headers.UserAgent.ParseAdd("ELB-HealthChecker/2.0");

        using var alb = await http.SendAsync(albRequest);
        using var other = await http.SendAsync(GrpcPost("/grpc.health.v1.Health/Check", [0, 0, 0, 0, 0]));
        var otherBody = await other.Content.ReadAsByteArrayAsync();

        Assert.Equal("14", GrpcStatusOf(alb));
        Assert.Equal("0", GrpcStatusOf(other));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 0x08, 0x02 }, otherBody);
    }

    [Fact]
    public async Task Check_RequestMessageNeverSent_DeadlineExceededNotAHang()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var http = Http2Client(app);
        var neverSent = new TaskCompletionSource();
        var request = GrpcPost("/grpc.health.v1.Health/Check", []);
        request.Content = new HeldOpenContent(neverSent.Task);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        neverSent.SetResult();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("4", GrpcStatusOf(response));
    }

    [Fact]
    public async Task NotAGrpcRequest_ToAHealthPath_MeetsTheAppsPipeline()
    {
        await using var app = await GrpcTemplateApp.StartAsync();
        using var http = Http2Client(app);
        var request = GrpcPost("/grpc.health.v1.Health/Check", [0, 0, 0, 0, 0]);
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await http.SendAsync(request);

        // Host filtering's answer to the IP authority: HealthKit left it alone.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(GrpcStatusOf(response));
    }

    [Fact]
    public async Task Watch_MoreThanTheLimitPerConnection_ResourceExhausted_EarlierStreamsKeepStreaming()
    {
        var check = new SwitchableCheck();
        await using var app = await GrpcTemplateApp.StartAsync(
            health => health.AddCheck(SwitchableCheck.Name, check),
            new Dictionary<string, string?>(QuickCache) { ["DeployHealth:Grpc:MaxWatchStreamsPerConnection"] = "3" });
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);
        using var cancel = new CancellationTokenSource(Bound);

        // Tried: a fourth Watch on one connection that already holds three.
        var open = new List<AsyncServerStreamingCall<HealthCheckResponse>>();
        for (var i = 0; i < 3; i++)
        {
            var watch = client.Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
            open.Add(watch);
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        }

        using var refused = client.Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
        var failure = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Contains("Grpc:MaxWatchStreamsPerConnection", failure.Status.Detail, StringComparison.Ordinal);

        // The three are still watched: a change reaches each of them.
        check.Healthy = false;
        foreach (var watch in open)
        {
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        }

        // One ends: its place is free again.
        open[0].Dispose();
        using var again = await RetryWatchAsync(client, cancel.Token);
        Assert.Equal(ServingStatus.NotServing, again.ResponseStream.Current.Status);
        open.ForEach(w => w.Dispose());
    }

    [Fact]
    public async Task Watch_MoreThanTheLimitInAll_ResourceExhaustedOnAnotherConnection_LoggedOnce()
    {
        await using var app = await GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?> { ["DeployHealth:Grpc:MaxWatchStreams"] = "4" });
        using var cancel = new CancellationTokenSource(Bound);
        var channels = Enumerable.Range(0, 3).Select(_ => GrpcTemplateApp.Channel(app)).ToList();
        var open = new List<AsyncServerStreamingCall<HealthCheckResponse>>();
        try
        {
            // Tried: four Watch streams over two connections, then one more on a third connection, twice.
            foreach (var channel in channels.Take(2))
            {
                for (var i = 0; i < 2; i++)
                {
                    var watch = new Health.HealthClient(channel).Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
                    open.Add(watch);
                    Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
                }
            }

            for (var i = 0; i < 2; i++)
            {
                using var refused = new Health.HealthClient(channels[2]).Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
                var failure = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseStream.MoveNext(cancel.Token));
                Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
                Assert.Contains("Grpc:MaxWatchStreams", failure.Status.Detail, StringComparison.Ordinal);
            }

            Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Name == "GrpcWatchLimitReached");

            // The refusals cost the open streams nothing: a drain reaches each of them.
            app.Services.GetRequiredService<IDrainSwitch>().Drain();
            foreach (var watch in open)
            {
                Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
                Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
            }
        }
        finally
        {
            open.ForEach(w => w.Dispose());
            channels.ForEach(c => c.Dispose());
        }
    }

    [Theory]
    [InlineData("DeployHealth:Grpc:MaxWatchStreams", "0", "DeployHealth:Grpc:MaxWatchStreams must be at least 1 (was 0)")]
    [InlineData("DeployHealth:Grpc:MaxWatchStreamsPerConnection", "-1", "DeployHealth:Grpc:MaxWatchStreamsPerConnection must be at least 1 (was -1)")]
    public async Task Start_WatchLimitBelowOne_FailsNamingTheKey(string key, string value, string expected)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => GrpcTemplateApp.StartAsync(configuration: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    /// <summary>A Watch opened until its first message arrives (a stream that just ended frees its place a moment later).</summary>
    private static async Task<AsyncServerStreamingCall<HealthCheckResponse>> RetryWatchAsync(Health.HealthClient client, CancellationToken cancel)
    {
        while (true)
        {
            var watch = client.Watch(new HealthCheckRequest(), cancellationToken: cancel);
            try
            {
                if (await watch.ResponseStream.MoveNext(cancel))
                {
                    return watch;
                }
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.ResourceExhausted)
            {
            }

            watch.Dispose();
            await Task.Delay(50, cancel);
        }
    }

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(static bytes => bytes, static bytes => bytes);

    private static readonly Method<byte[], MapField<string, HealthCheckResponse>> ListMethod = new(
        MethodType.Unary,
        "grpc.health.v1.Health",
        "List",
        Raw,
        Marshallers.Create<MapField<string, HealthCheckResponse>>(static _ => [], ParseList));

    private static readonly Method<byte[], byte[]> AlbMethod = new(MethodType.Unary, "AWS.ALB", "healthcheck", Raw, Raw);

    /// <summary>HealthListResponse { map&lt;string, HealthCheckResponse&gt; statuses = 1; }, decoded by Google.Protobuf itself.</summary>
    private static MapField<string, HealthCheckResponse> ParseList(byte[] bytes)
    {
        var codec = new MapField<string, HealthCheckResponse>.Codec(FieldCodec.ForString(10, ""), FieldCodec.ForMessage(18, HealthCheckResponse.Parser), 10);
        var map = new MapField<string, HealthCheckResponse>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == 10)
            {
                map.AddEntriesFrom(input, codec);
            }
            else
            {
                input.SkipLastField();
            }
        }

        return map;
    }

    private static HttpClient Http2Client(KestrelApp app) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = app.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = Bound,
    };

    private static HttpRequestMessage GrpcPost(string path, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    /// <summary>grpc-status from the trailers, or from the headers of a Trailers-Only answer.</summary>
    private static string? GrpcStatusOf(HttpResponseMessage response) =>
        response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.Single()
        : response.Headers.TryGetValues("grpc-status", out var header) ? header.Single()
        : null;

    /// <summary>A request body that sends nothing and stays open until <paramref name="release"/> completes.</summary>
    private sealed class HeldOpenContent(Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.FlushAsync();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace HealthKit.Tests.Diagnostics;

/// <summary>
/// Probes leave no trace: an app traced as OpenTelemetry's docs show (<c>AddAspNetCoreInstrumentation()</c>, here with
/// the in-memory exporter) exports no span for any probe HealthKit answers on the main port, and one span for each
/// ordinary request, as before. A bare <see cref="ActivityListener"/> sees the probes' hosting Activities stop
/// unrecorded. Every request carries a <c>traceparent</c> of the test's own trace, and only that trace is counted:
/// ActivitySources are process-wide, so the listeners also see the requests of tests running beside this one.
/// </summary>
public sealed class ProbeTracingTests
{
    private const int Rounds = 5;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string?> Settings = new()
    {
        // The start-up self-test sends a probe of its own at a moment the test does not control.
        ["DeployHealth:SelfTest"] = "false",
    };

    [Fact]
    public async Task Probes_EveryFormOnTheMainPort_NoSpansWhileOrdinaryRequestsKeepTheirs()
    {
        var exported = new List<Activity>();
        using var hosting = new HostingActivities();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth().Services
                .AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation().AddInMemoryExporter(exported)),
            app => app.MapGet("/", () => "hello"),
            Settings);
        hosting.Listen();
        var host = app.Address.Authority;
        var parent = hosting.TraceParent;

        // Each form a prober sends (docs PROBERS facts): with and without Host, HTTP/1.0 and 1.1, every probe method,
        // the asterisk form; the HTTP/1.1 forms without Host are answered by the connection door, before hosting.
        var throughHosting = 0;
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var (path, method) in new[] { ("/health", "GET"), ("/health", "HEAD"), ("/health", "OPTIONS"), ("/health/live", "GET"), ("/health/ready", "GET"), ("*", "OPTIONS") })
            {
                Assert.Equal(200, (await RawHttp.GetAsync(app.Address, path, host, method, extraHeaders: parent)).Status);
                Assert.Equal(200, (await RawHttp.GetAsync(app.Address, path, host: null, method, "HTTP/1.0", parent)).Status);
                Assert.Equal(200, (await RawHttp.GetAsync(app.Address, path, host: null, method, extraHeaders: parent)).Status);
                throughHosting += 2;
            }

            // A probe path with a method no probe uses is answered by HealthKit too (405), and as quietly.
            Assert.Equal(405, (await RawHttp.GetAsync(app.Address, "/health", host, "POST", extraHeaders: parent)).Status);
            throughHosting++;
        }

        for (var i = 0; i < Rounds; i++)
        {
            Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/", host, extraHeaders: parent)).Status);
        }

        // Hosting stops a request's Activity after the response is written; this listener is called after
        // OpenTelemetry's (listeners run in the order they were added), so once it has seen every stop, so has the exporter.
        await hosting.WaitForStopsAsync(throughHosting + Rounds);

        Assert.Equal(Rounds, hosting.Recorded);
        Assert.Equal(throughHosting, hosting.Unrecorded);
        var spans = hosting.Ours(exported);
        Assert.Equal(Rounds, spans.Count);
        Assert.All(spans, span => Assert.Equal("/", span.GetTagItem("url.path")));
    }

    [Fact]
    public async Task Probes_GrpcHealthCheck_NoSpansWhileOrdinaryRequestsKeepTheirs()
    {
        var exported = new List<Activity>();
        using var hosting = new HostingActivities();
        await using var app = await GrpcTemplateApp.StartAsync(
            configuration: Settings,
            configureBuilder: builder => builder.Services
                .AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation().AddInMemoryExporter(exported)));
        hosting.Listen();
        using var channel = GrpcTemplateApp.Channel(app);
        var client = new Health.HealthClient(channel);

        for (var i = 0; i < Rounds; i++)
        {
            var response = await client.CheckAsync(new HealthCheckRequest(), new Metadata { { "traceparent", hosting.TraceParentValue } });
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
        }

        // An ordinary HTTP/2 request: the app answers it (host filtering refuses the IP authority), and it is traced.
        // No propagator: the handler would replace the test's traceparent with its own.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ActivityHeadersPropagator = null });
        using var request = new HttpRequestMessage(HttpMethod.Get, app.Address)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Add("traceparent", hosting.TraceParentValue);
        using (var answer = await http.SendAsync(request))
        {
            Assert.Equal(HttpVersion.Version20, answer.Version);
        }

        await hosting.WaitForStopsAsync(Rounds + 1);

        Assert.Equal(1, hosting.Recorded);
        var span = Assert.Single(hosting.Ours(exported));
        Assert.Equal("/", span.GetTagItem("url.path"));
    }

    [Fact]
    public async Task Probes_BareActivityListener_ProbeActivitiesStopUnrecorded()
    {
        // No OpenTelemetry at all: a listener of ASP.NET Core's own ActivitySource, as any tracing library registers one.
        using var hosting = new HostingActivities();
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddDeployHealth(),
            app => app.MapGet("/", () => "hello"),
            Settings);
        hosting.Listen();
        var host = app.Address.Authority;
        var parent = hosting.TraceParent;

        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/health", host, extraHeaders: parent)).Status);
        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/health/live", host, extraHeaders: parent)).Status);
        Assert.Equal(200, (await RawHttp.GetAsync(app.Address, "/", host, extraHeaders: parent)).Status);
        await hosting.WaitForStopsAsync(3);

        Assert.Equal(1, hosting.Recorded);
        Assert.Equal(2, hosting.Unrecorded);
    }

    /// <summary>
    /// Every hosting Activity of the test's trace that stops, recorded or not, seen by a listener added once the app
    /// has started (after OpenTelemetry's).
    /// </summary>
    private sealed class HostingActivities : IDisposable
    {
        private readonly ActivityTraceId _trace = ActivityTraceId.CreateRandom();
        private ActivityListener? _listener;
        private int _recorded;
        private int _unrecorded;

        /// <summary>Gets the <c>traceparent</c> value of a sampled remote parent in the test's trace.</summary>
        public string TraceParentValue => $"00-{_trace}-{ActivitySpanId.CreateRandom()}-01";

        /// <summary>Gets the <c>traceparent</c> header line, for a raw request.</summary>
        public string TraceParent => $"traceparent: {TraceParentValue}\r\n";

        public void Listen()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = OnStopped,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>The exported spans of the test's trace.</summary>
        public List<Activity> Ours(List<Activity> exported)
        {
            lock (exported)
            {
                return exported.Where(span => span.TraceId == _trace).ToList();
            }
        }

        public int Recorded => Volatile.Read(ref _recorded);

        public int Unrecorded => Volatile.Read(ref _unrecorded);

        public async Task WaitForStopsAsync(int count)
        {
            var until = DateTime.UtcNow + Bound;
            while (Recorded + Unrecorded < count && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }

            Assert.True(count == Recorded + Unrecorded, $"expected {count} stops, saw {Recorded} recorded and {Unrecorded} not");
        }

        public void Dispose() => _listener?.Dispose();

        private void OnStopped(Activity activity)
        {
            if (activity.OperationName != "Microsoft.AspNetCore.Hosting.HttpRequestIn" || activity.TraceId != _trace)
            {
                return;
            }

            if (activity.Recorded && activity.IsAllDataRequested)
            {
                Interlocked.Increment(ref _recorded);
            }
            else
            {
                Interlocked.Increment(ref _unrecorded);
            }
        }
    }
}

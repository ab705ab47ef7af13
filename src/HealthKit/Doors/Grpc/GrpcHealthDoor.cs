// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.IO.Pipelines;
using HealthKit.Balancers;
using HealthKit.Diagnostics;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Doors.Grpc;

/// <summary>
/// grpc.health.v1 (<c>Check</c>, <c>Watch</c>, <c>List</c>) and AWS ALB's default gRPC health path, answered from the
/// verdict by the first middleware on every HTTP/2 endpoint, h2c and TLS alike, so a <c>dotnet new grpc</c> app is
/// probed without <c>AddGrpc()</c> and in front of host filtering and authentication. Semantics follow grpc-dotnet's
/// <c>HealthServiceImpl</c>: <c>""</c> and <c>"readiness"</c> are readiness, <c>"liveness"</c> is liveness; an unknown
/// service gets NOT_FOUND from Check and SERVICE_UNKNOWN from a Watch that stays open, unless the app maps its own
/// health service, which then answers the names it knows. Every malformed request gets a gRPC status, never a 500.
/// </summary>
internal sealed partial class GrpcHealthDoor
{
    internal const string CheckPath = "/grpc.health.v1.Health/Check";
    internal const string WatchPath = "/grpc.health.v1.Health/Watch";
    internal const string ListPath = "/grpc.health.v1.Health/List";

    /// <summary>
    /// ALB's default gRPC health check path, with its default matcher 12 (UNIMPLEMENTED): a gRPC app that implements
    /// nothing there looks healthy forever. Answered 12 while ready and 14 (UNAVAILABLE) while not, so the defaults work.
    /// </summary>
    internal const string AlbPath = "/AWS.ALB/healthcheck";

    private const string ServicePrefix = "/grpc.health.v1.Health/";
    private const string GrpcContentType = "application/grpc";
    private const string Endpoint = "grpc";

    // gRPC status codes (grpc/doc/statuscodes.md).
    private const int Ok = 0;
    private const int DeadlineExceeded = 4;
    private const int NotFound = 5;
    private const int ResourceExhausted = 8;
    private const int Unimplemented = 12;
    private const int Internal = 13;
    private const int Unavailable = 14;

    /// <summary>How long the request message may take to arrive once the headers have: a prober sends it at once.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private static readonly StringValues StatusOk = new("0");
    private static readonly StringValues StatusUnimplemented = new("12");
    private static readonly StringValues StatusUnavailable = new("14");
    private static readonly StringValues ContentType = new(GrpcContentType);
    private static readonly StringValues IdentityOnly = new("identity");
    private static readonly StringValues AlbReady = new("ready; HealthKit answers this path UNIMPLEMENTED for ALB's default matcher (12)");
    private static readonly StringValues AlbNotReady = new("not ready");

    private readonly HealthVerdict _verdict;
    private readonly HealthKitMetrics _metrics;
    private readonly ProberLedger? _balancers;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IServiceProvider _services;
    private readonly ILogger<GrpcHealthDoor> _logger;
    private readonly TimeSpan _rereadInterval;
    private readonly int _maxWatches;
    private readonly int _maxWatchesPerConnection;

    // Open Watch streams by connection id, and in all (both under the dictionary's lock): a Watch opens rarely.
    private readonly Dictionary<string, int> _watchesByConnection = new(StringComparer.Ordinal);
    private int _watches;
    private int _limitReported;

    // Whether the app maps its own grpc.health.v1 method at a path: 0 not looked up yet, 1 yes, 2 no.
    private int _appCheck;
    private int _appWatch;

    public GrpcHealthDoor(
        HealthVerdict verdict,
        HealthKitMetrics metrics,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        IServiceProvider services,
        IOptions<DeployHealthOptions> options,
        ILogger<GrpcHealthDoor> logger,
        ProberLedger? balancers = null)
    {
        _balancers = balancers;
        _verdict = verdict;
        _metrics = metrics;
        _time = time;
        _lifetime = lifetime;
        _services = services;
        _logger = logger;

        // A Watch reads the verdict again at least this often, so a change nobody signals (the start-up grace running
        // out, a stale result that needs a refresh because the watcher is the only prober) still reaches it.
        var cache = options.Value.CacheDuration;
        _rereadInterval = cache > TimeSpan.Zero ? cache : TimeSpan.FromSeconds(1);
        _maxWatches = options.Value.Grpc.MaxWatchStreams;
        _maxWatchesPerConnection = options.Value.Grpc.MaxWatchStreamsPerConnection;
    }

    /// <summary>
    /// Whether a path may be one of this door's, for the first middleware: two character compares for almost every
    /// request that is not, so the non-probe path stays as cheap as it was.
    /// </summary>
    public static bool IsCandidate(PathString path)
    {
        var value = path.Value;
        if (value is null || value.Length < AlbPath.Length)
        {
            return false;
        }

        return value[1] switch
        {
            'g' => value.StartsWith(ServicePrefix, StringComparison.Ordinal),
            'A' => value.Equals(AlbPath, StringComparison.Ordinal),
            _ => false,
        };
    }

    /// <summary>Answers a gRPC health call; anything that is not one (wrong method, HTTP/1.x, another content type) goes on to the app.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var method = request.Path.Value switch
        {
            CheckPath => GrpcMethod.Check,
            WatchPath => GrpcMethod.Watch,
            ListPath => GrpcMethod.List,
            AlbPath => GrpcMethod.Alb,
            _ => GrpcMethod.None,
        };
        if (method == GrpcMethod.None
            || !IsPost(request.Method)
            || !(HttpProtocol.IsHttp2(request.Protocol) || HttpProtocol.IsHttp3(request.Protocol))
            || !IsGrpcContentType(request.ContentType)
            || context.Features.Get<IHttpResponseTrailersFeature>() is not { } trailers)
        {
            return next(context);
        }

        ProbeTelemetry.Exclude(context);

        return method switch
        {
            GrpcMethod.Alb => AlbAsync(context),
            GrpcMethod.Watch => WatchAsync(context, trailers, next),
            _ => CheckOrListAsync(context, trailers, method, next),
        };
    }

    /// <summary>
    /// Exactly <c>POST</c>: methods are case-sensitive, the rule every door follows (see <c>ProbeMethod</c>), and
    /// ASP.NET Core's <c>HttpMethods.IsPost</c> is not. Kestrel interns the known methods, so this is a reference check.
    /// </summary>
    internal static bool IsPost(string method) =>
        ReferenceEquals(method, HttpMethods.Post) || string.Equals(method, HttpMethods.Post, StringComparison.Ordinal);

    /// <summary>AWS's health checker: <c>User-Agent: ELB-HealthChecker/2.0</c>, as ALB sends on its health checks.</summary>
    internal static bool IsAlbHealthChecker(HttpRequest request) =>
        request.Headers.UserAgent.ToString().StartsWith("ELB-HealthChecker/", StringComparison.Ordinal);

    /// <summary><c>application/grpc</c>, <c>application/grpc+proto</c>, with parameters; not grpc-web, not +json.</summary>
    internal static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = contentType.AsSpan(GrpcContentType.Length);
        if (rest.IsEmpty || rest[0] == ';')
        {
            return true;
        }

        return rest.StartsWith("+proto", StringComparison.OrdinalIgnoreCase) && (rest.Length == 6 || rest[6] == ';');
    }

    private async Task AlbAsync(HttpContext context)
    {
        // The body is not read: whatever ALB sends, the answer is readiness as a status code.
        var verdict = await _verdict.ReadinessAsync().ConfigureAwait(false);
        _metrics.RecordProbe(Endpoint, verdict.HttpStatusCode);
        _balancers?.Record(ProberDoor.Grpc, context, verdict.HttpStatusCode, ProberRole.Readiness);
        var headers = context.Response.Headers;
        context.Response.StatusCode = StatusCodes.Status200OK;
        headers.ContentType = ContentType;
        // No reason in the message: the caller is anonymous, like the HTTP door's pass/fail body.
        headers.GrpcStatus = verdict.IsUp ? StatusUnimplemented : StatusUnavailable;
        headers.GrpcMessage = verdict.IsUp ? AlbReady : AlbNotReady;
    }

    private async Task CheckOrListAsync(HttpContext context, IHttpResponseTrailersFeature trailers, GrpcMethod method, RequestDelegate next)
    {
        var read = await ReadRequestAsync(context, keepForApp: method == GrpcMethod.Check).ConfigureAwait(false);
        if (read.Code != Ok)
        {
            Refuse(context, read.Code, read.Error!);
            return;
        }

        byte[] frame;
        if (method == GrpcMethod.List)
        {
            var readiness = await _verdict.ReadinessAsync().ConfigureAwait(false);
            var liveness = _verdict.Liveness();
            _metrics.RecordProbe(Endpoint, readiness.HttpStatusCode);
            frame = GrpcHealthWire.List(readiness.IsUp, liveness.IsUp);
        }
        else
        {
            ProbeVerdict verdict;
            switch (read.Service)
            {
                case HealthService.Readiness:
                    verdict = await _verdict.ReadinessAsync().ConfigureAwait(false);
                    break;
                case HealthService.Liveness:
                    verdict = _verdict.Liveness();
                    break;
                default:
                    if (AppServes(ref _appCheck, CheckPath))
                    {
                        await HandToAppAsync(context, read.Request!, next).ConfigureAwait(false);
                    }
                    else
                    {
                        Refuse(context, NotFound, "Unknown service; HealthKit answers \"\", \"readiness\" and \"liveness\".");
                    }

                    return;
            }

            _metrics.RecordProbe(Endpoint, verdict.HttpStatusCode);
            _balancers?.Record(ProberDoor.Grpc, context, verdict.HttpStatusCode, read.Service == HealthService.Liveness ? ProberRole.Liveness : ProberRole.Readiness, read.Service == HealthService.Liveness ? "Check liveness" : "Check readiness");
            if (!verdict.IsUp && IsAlbHealthChecker(context.Request))
            {
                // ALB's matcher reads only grpc-status, never the message: NOT_SERVING with status 0 would look healthy
                // to a target group set up as /grpc.health.v1.Health/Check with matcher 0. ALB gets UNAVAILABLE instead.
                Refuse(context, Unavailable, "NOT_SERVING");
                return;
            }

            frame = GrpcHealthWire.Response(verdict.IsUp ? GrpcHealthWire.Serving : GrpcHealthWire.NotServing);
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = ContentType;
        await response.BodyWriter.WriteAsync(frame, context.RequestAborted).ConfigureAwait(false);
        trailers.Trailers.GrpcStatus = StatusOk;
    }

    private async Task WatchAsync(HttpContext context, IHttpResponseTrailersFeature trailers, RequestDelegate next)
    {
        var read = await ReadRequestAsync(context, keepForApp: true).ConfigureAwait(false);
        if (read.Code != Ok)
        {
            Refuse(context, read.Code, read.Error!);
            return;
        }

        var service = read.Service;
        if (service == HealthService.Unknown && AppServes(ref _appWatch, WatchPath))
        {
            await HandToAppAsync(context, read.Request!, next).ConfigureAwait(false);
            return;
        }

        // Each open stream costs memory and any client may open one: bounded per connection and in all, refused the
        // way gRPC servers refuse what they have no room for, which clients retry with backoff.
        var connection = context.Connection.Id;
        if (OpenWatch(connection) is { } refusal)
        {
            Refuse(context, ResourceExhausted, refusal);
            return;
        }

        try
        {
            await StreamAsync(context, trailers, service).ConfigureAwait(false);
        }
        finally
        {
            CloseWatch(connection);
        }
    }

    private async Task StreamAsync(HttpContext context, IHttpResponseTrailersFeature trailers, HealthService service)
    {
        // The watch ends when the client cancels it, or when the server closes the connection: Kestrel asks every
        // connection to close when it stops, after the drain, so watchers see NOT_SERVING for the whole drain and the
        // stream never holds the server's shutdown. Without that feature (another server), the host's stopping token.
        var closing = context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? _lifetime.ApplicationStopping;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, closing);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = ContentType;
        var status = GrpcHealthWire.ServiceUnknown;

        // The watcher is a prober in the ledger from the stream's open to its end, with every answer it is sent, so the
        // drain knows it has been told. A service HealthKit does not answer is nobody's readiness: not recorded.
        ProberLedger.ProberStream? listener = null;
        try
        {
            try
            {
                status = service switch
                {
                    HealthService.Readiness => Status(await _verdict.ReadinessAsync().ConfigureAwait(false)),
                    HealthService.Liveness => Status(_verdict.Liveness()),
                    _ => GrpcHealthWire.ServiceUnknown,
                };
                if (service != HealthService.Unknown)
                {
                    listener = _balancers?.OpenStream(
                        ProberDoor.Grpc,
                        context,
                        HttpStatus(status),
                        service == HealthService.Liveness ? ProberRole.Liveness : ProberRole.Readiness,
                        service == HealthService.Liveness ? "Watch liveness" : "Watch readiness");
                }

                await response.BodyWriter.WriteAsync(GrpcHealthWire.Response(status), ending.Token).ConfigureAwait(false);

                while (true)
                {
                    // Token first, then the read: a change between the two fires the token and is read on the next turn.
                    var changed = _verdict.GetChangeToken();
                    var current = Read(service);
                    if (current != status)
                    {
                        status = current;
                        listener?.Answered(HttpStatus(status));
                        await response.BodyWriter.WriteAsync(GrpcHealthWire.Response(status), ending.Token).ConfigureAwait(false);
                    }

                    await WaitForChangeAsync(changed, ending.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ending.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
                // The client went away mid-write.
                return;
            }

            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            // Ending because the server closes the connection: the last word is the verdict as it stands now (draining,
            // once shutdown began), so a client never keeps an instance that left in rotation because the drain was too
            // short for the change to be pushed, then a clean end (OK: clients re-watch with backoff).
            var last = Read(service);
            if (last != status)
            {
                listener?.Answered(HttpStatus(last));
                try
                {
                    await response.BodyWriter.WriteAsync(GrpcHealthWire.Response(last), context.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is IOException or OperationCanceledException)
                {
                    return;
                }
            }

            trailers.Trailers.GrpcStatus = StatusOk;
        }
        finally
        {
            listener?.Dispose();
        }
    }

    /// <summary>Counts a new Watch in, or says why it is refused.</summary>
    private string? OpenWatch(string connection)
    {
        lock (_watchesByConnection)
        {
            if (_watches >= _maxWatches)
            {
                if (_limitReported++ == 0)
                {
                    Log.WatchLimitReached(_logger, _maxWatches);
                }

                return "Too many Watch streams are open (DeployHealth:Grpc:MaxWatchStreams " + _maxWatches + "); retry later.";
            }

            _watchesByConnection.TryGetValue(connection, out var open);
            if (open >= _maxWatchesPerConnection)
            {
                return "Too many Watch streams on this connection (DeployHealth:Grpc:MaxWatchStreamsPerConnection " + _maxWatchesPerConnection + "); end one first.";
            }

            _watchesByConnection[connection] = open + 1;
            _watches++;
            return null;
        }
    }

    private void CloseWatch(string connection)
    {
        lock (_watchesByConnection)
        {
            _watches--;
            var open = _watchesByConnection[connection] - 1;
            if (open == 0)
            {
                _watchesByConnection.Remove(connection);
            }
            else
            {
                _watchesByConnection[connection] = open;
            }
        }
    }

    private int Read(HealthService service) => service switch
    {
        HealthService.Readiness => Status(_verdict.Readiness()),
        HealthService.Liveness => Status(_verdict.Liveness()),
        _ => GrpcHealthWire.ServiceUnknown,
    };

    private static int Status(ProbeVerdict verdict) => verdict.IsUp ? GrpcHealthWire.Serving : GrpcHealthWire.NotServing;

    /// <summary>A serving status as the ledger counts answers: 200 serving, 503 not.</summary>
    private static int HttpStatus(int status) => status == GrpcHealthWire.Serving ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

    private async Task WaitForChangeAsync(IChangeToken changed, CancellationToken cancellationToken)
    {
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = changed.RegisterChangeCallback(static state => ((TaskCompletionSource)state!).TrySetResult(), signalled);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reread = Task.Delay(_rereadInterval, _time, timer.Token);
        await Task.WhenAny(signalled.Task, reread).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async ValueTask<RequestRead> ReadRequestAsync(HttpContext context, bool keepForApp)
    {
        var reader = context.Request.BodyReader;
        ITimer? deadline = null;
        try
        {
            while (true)
            {
                // Probers send the message with the headers: when it is already here the read completes at once and
                // no timer is armed at all. Otherwise one timer bounds the whole wait by cancelling the pending read.
                var pending = reader.ReadAsync(context.RequestAborted);
                ReadResult result;
                if (pending.IsCompletedSuccessfully)
                {
                    result = pending.Result;
                }
                else
                {
                    deadline ??= _time.CreateTimer(static state => ((PipeReader)state!).CancelPendingRead(), reader, RequestTimeout, Timeout.InfiniteTimeSpan);
                    result = await pending.ConfigureAwait(false);
                }

                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    reader.AdvanceTo(buffer.Start);
                    return new RequestRead(DeadlineExceeded, "The request message did not arrive within " + RequestTimeout.TotalSeconds + " s.");
                }

                var found = GrpcHealthWire.TryReadFrame(buffer, result.IsCompleted, out var message, out var error);
                if (found == FrameRead.NeedMore)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                var read = found switch
                {
                    FrameRead.Complete => Parse(message, buffer, keepForApp),
                    FrameRead.TooLarge => new RequestRead(ResourceExhausted, error),
                    FrameRead.Compressed => Compressed(context),
                    _ => new RequestRead(Internal, error),
                };
                reader.AdvanceTo(buffer.End);
                return read;
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // The client reset the stream: nobody is left to answer.
            return new RequestRead(Internal, "The request stream was aborted.");
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private static RequestRead Parse(ReadOnlySequence<byte> message, ReadOnlySequence<byte> frame, bool keepForApp)
    {
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> bytes;
            if (message.IsSingleSegment)
            {
                bytes = message.FirstSpan;
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent((int)message.Length);
                message.CopyTo(rented);
                bytes = rented.AsSpan(0, (int)message.Length);
            }

            if (!GrpcHealthWire.TryReadService(bytes, out var service, out var error))
            {
                return new RequestRead(Internal, error);
            }

            if (service.IsEmpty || service.SequenceEqual("readiness"u8))
            {
                return new RequestRead(HealthService.Readiness);
            }

            if (service.SequenceEqual("liveness"u8))
            {
                return new RequestRead(HealthService.Liveness);
            }

            // Kept only for an unknown name, in case the app's own health service answers it.
            return new RequestRead(HealthService.Unknown) { Request = keepForApp ? frame.ToArray() : null };
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static RequestRead Compressed(HttpContext context)
    {
        // No codec is worth carrying for a message that holds one short name; the protocol's answer to an encoding
        // the server lacks is UNIMPLEMENTED with the encodings it accepts.
        context.Response.Headers.GrpcAcceptEncoding = IdentityOnly;
        return new RequestRead(Unimplemented, "Compressed request messages are not supported; send them uncompressed (identity).");
    }

    private void Refuse(HttpContext context, int code, string message)
    {
        Log.Refused(_logger, context.Request.Path.Value, code, message);
        if (context.Response.HasStarted)
        {
            return;
        }

        // Trailers-Only: the status travels in the only HEADERS frame, as gRPC servers answer a call with no message.
        var headers = context.Response.Headers;
        context.Response.StatusCode = StatusCodes.Status200OK;
        headers.ContentType = ContentType;
        headers.GrpcStatus = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers.GrpcMessage = message;
    }

    private bool AppServes(ref int known, string path)
    {
        var state = Volatile.Read(ref known);
        if (state == 0)
        {
            state = FindAppEndpoint(path) ? 1 : 2;
            Volatile.Write(ref known, state);
        }

        return state == 1;
    }

    private bool FindAppEndpoint(string path)
    {
        // grpc-dotnet maps each method as a route endpoint whose pattern is the method's path.
        if (_services.GetService<EndpointDataSource>() is not { } endpoints)
        {
            return false;
        }

        foreach (var endpoint in endpoints.Endpoints)
        {
            if (endpoint is RouteEndpoint route && string.Equals(route.RoutePattern.RawText, path, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static Task HandToAppAsync(HttpContext context, byte[] request, RequestDelegate next)
    {
        // The message was read to learn the service name: the app reads it again from a copy. Kestrel's body reader
        // follows a replaced body stream.
        var body = new MemoryStream(request, writable: false);
        context.Response.RegisterForDispose(body);
        context.Request.Body = body;
        return next(context);
    }

    private enum GrpcMethod
    {
        None,
        Check,
        Watch,
        List,
        Alb,
    }

    private enum HealthService
    {
        Unknown,
        Readiness,
        Liveness,
    }

    private readonly record struct RequestRead(int Code, string? Error, HealthService Service, byte[]? Request)
    {
        public RequestRead(int code, string? error)
            : this(code, error, HealthService.Unknown, null)
        {
        }

        public RequestRead(HealthService service)
            : this(Ok, null, service, null)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 221, EventName = "GrpcHealthRefused", Level = LogLevel.Debug,
            Message = "gRPC health call {Path} answered grpc-status {GrpcStatus}: {Reason}")]
        public static partial void Refused(ILogger logger, string? path, int grpcStatus, string reason);

        [LoggerMessage(EventId = 402, EventName = "GrpcWatchLimitReached", Level = LogLevel.Warning,
            Message = "{Limit} gRPC Watch streams are open, DeployHealth:Grpc:MaxWatchStreams: further Watch calls get RESOURCE_EXHAUSTED until some end. Raise the setting if that many watchers are expected. Logged once.")]
        public static partial void WatchLimitReached(ILogger logger, int limit);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Reflection;
using HealthKit.Balancers;
using HealthKit.Diagnostics;
using HealthKit.Probing;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Connection;

/// <summary>
/// Kestrel connection middleware on every HTTP/1 endpoint: looks at the first request head of a connection without
/// consuming it and answers only a probe that Kestrel's HTTP/1 parser would refuse with 400 before any middleware runs
/// (HTTP/1.1 without Host on a probe path, read by <see cref="ProbeHeadReader"/> without leniencies and routed by
/// <see cref="ProbeRoute"/>). On HTTPS endpoints it sits behind the TLS
/// handshake and reads the decrypted request, so those probes are answered over TLS as over plain HTTP. Everything else
/// (the HTTP/2 preface, every other request, every probe Kestrel accepts) goes to Kestrel byte for byte: the bytes are examined, never
/// consumed, as Kestrel's own <c>HttpConnectionMiddleware</c> and HTTPS middleware leave the transport to the next one.
/// Bounded: <see cref="ProbeHeadReader.MaxLength"/> bytes, <see cref="Patience"/> of waiting (then Kestrel gets the
/// connection as it is), one request answered, then the connection closes.
/// </summary>
internal sealed partial class ConnectionDoor
{
    /// <summary>How long the door waits for the bytes it needs; a prober sends its head at once.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private const string TlsMiddleware = "Microsoft.AspNetCore.Server.Kestrel.Https.Internal.HttpsConnectionMiddleware";

    private readonly ProbeRoute _route;
    private readonly DateHeader _date;
    private readonly IServiceProvider _services;
    private readonly ProberLedger? _balancers;
    private HealthVerdict? _verdict;
    private HealthKitMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ConnectionDoor> _logger;
    private readonly List<ListenOptions> _http1Refused = [];
    private int _endpoints;

    /// <remarks>
    /// The verdict and the metrics are resolved at the first probe: the door is built when Kestrel's options are, at
    /// the app's start, and the verdict's graph is not worth building before anything asks.
    /// </remarks>
    public ConnectionDoor(ProbeRoute route, DateHeader date, IServiceProvider services, TimeProvider time, ILogger<ConnectionDoor> logger, ProberLedger? balancers = null)
    {
        _balancers = balancers;
        _route = route;
        _date = date;
        _services = services;
        _time = time;
        _logger = logger;
    }

    private HealthVerdict Verdict => _verdict ??= _services.GetRequiredService<HealthVerdict>();

    /// <summary>Gets how many endpoints Kestrel built with the door in front (HTTP/2-only endpoints count, unwrapped).</summary>
    public int Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>
    /// Puts the door in front of <paramref name="next"/>, unless the endpoint cannot speak HTTP/1. On an HTTPS endpoint
    /// the door goes behind Kestrel's TLS handshake instead, where it reads the decrypted request (see
    /// <see cref="BehindTls"/>).
    /// </summary>
    public ConnectionDelegate Wrap(ListenOptions endpoint, ConnectionDelegate next)
    {
        if ((endpoint.Protocols & HttpProtocols.Http1) == 0)
        {
            lock (_http1Refused)
            {
                _http1Refused.Add(endpoint);
            }
        }

        return BehindTls(endpoint.Protocols, next) ? next : Wrap(endpoint.Protocols, next);
    }

    /// <summary>
    /// Gets whether the endpoint bound to <paramref name="port"/> speaks no HTTP/1.x (Kestrel sets a bound endpoint's
    /// port after building its pipeline, so this is true only once the server listens).
    /// </summary>
    public bool RefusesHttp1(int port)
    {
        lock (_http1Refused)
        {
            return _http1Refused.Exists(e => e.IPEndPoint?.Port == port);
        }
    }

    /// <summary>Puts the door in front of <paramref name="next"/> on an endpoint that speaks <paramref name="protocols"/>.</summary>
    public ConnectionDelegate Wrap(HttpProtocols protocols, ConnectionDelegate next)
    {
        Interlocked.Increment(ref _endpoints);

        // Called when Kestrel builds the endpoint, after the app's own settings: Protocols is final here. An HTTP/2-only
        // endpoint refuses HTTP/1.x anyway (the gRPC door answers there), so it pays nothing at all.
        return (protocols & HttpProtocols.Http1) == 0 ? next : connection => OnConnectionAsync(connection, next);
    }

    /// <summary>
    /// Kestrel composes an endpoint's connection middleware in the order it was added, and the endpoint defaults (where
    /// HealthKit adds the door, the one hook every endpoint passes) run before the app's <c>UseHttps</c>: in front of the
    /// TLS handshake the door would see only ciphertext, and every probe over TLS would meet Kestrel's parser. No public
    /// API adds middleware behind another's, so when <paramref name="next"/> is Kestrel's TLS middleware the door takes
    /// the place of that middleware's own next delegate, which is set once, when Kestrel builds the endpoint. Where
    /// Kestrel's layout differs (another version, another middleware in between), the door stays in front, where TLS
    /// passes through it untouched, and says so (event 440).
    /// </summary>
    private bool BehindTls(HttpProtocols protocols, ConnectionDelegate next)
    {
        var tls = next.Target;
        if (tls is null || !string.Equals(tls.GetType().FullName, TlsMiddleware, StringComparison.Ordinal))
        {
            return false;
        }

        var field = tls.GetType().GetField("_next", BindingFlags.Instance | BindingFlags.NonPublic);
        if (field?.GetValue(tls) is not ConnectionDelegate decrypted)
        {
            Log.NotBehindTls(_logger);
            return false;
        }

        field.SetValue(tls, Wrap(protocols, decrypted));
        return true;
    }

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // Behind TLS, h2 chosen by ALPN is HTTP/2 from its first byte: nothing for an HTTP/1 door to read.
        if (connection.Features.Get<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual("h2"u8))
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var input = connection.Transport.Input;
        ConnectionProbe? probe;
        try
        {
            probe = await PeekAsync(input).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            // Reset by the client before its head was decided (Kestrel's ConnectionResetException).
            Log.Aborted(_logger, exception.GetType().Name);
            return;
        }

        if (probe is { } found)
        {
            await AnswerAsync(connection, found).ConfigureAwait(false);
            return;
        }

        await next(connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads until the head is decided. On pass, the reader is left with everything unconsumed and examined no further
    /// than it already reported (the pipe forbids moving that back, and examining everything would make Kestrel's
    /// first read wait for more bytes), so Kestrel's first read sees every byte at once.
    /// </summary>
    private async ValueTask<ConnectionProbe?> PeekAsync(PipeReader input)
    {
        CancellationTokenSource? patience = null;
        long examined = 0;
        try
        {
            while (true)
            {
                // Bytes already there are read synchronously; only a read that has to wait pays for a timer.
                if (!input.TryRead(out var result))
                {
                    patience ??= new CancellationTokenSource(Patience, _time);
                    result = await input.ReadAsync(patience.Token).ConfigureAwait(false);
                }

                var buffer = result.Buffer;
                var decision = Decide(buffer, out var probe);
                if (decision == Decision.Answer)
                {
                    input.AdvanceTo(buffer.End);
                    return probe;
                }

                if (decision == Decision.NeedMore && !result.IsCompleted && !result.IsCanceled)
                {
                    examined = buffer.Length;
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                input.AdvanceTo(buffer.Start, buffer.GetPosition(examined));
                return null;
            }
        }
        catch (OperationCanceledException)
        {
            // Out of patience: Kestrel takes the connection as it is and applies its own timeouts.
            return null;
        }
        finally
        {
            patience?.Dispose();
        }
    }

    private async Task AnswerAsync(ConnectionContext connection, ConnectionProbe probe)
    {
        var verdict = probe.Kind == ProbeKind.Liveness
            ? Verdict.Liveness()
            : await Verdict.ReadinessAsync().ConfigureAwait(false);
        var statusCode = verdict.HttpStatusCode;
        (_metrics ??= _services.GetRequiredService<HealthKitMetrics>()).RecordProbe(ProbeRoute.EndpointName(probe.Kind), statusCode);
        _balancers?.Record(ProberDoor.Connection, (connection.RemoteEndPoint as IPEndPoint)?.Address, default, probe.Kind == ProbeKind.Liveness ? _route.Liveness : _route.Readiness, ProbeShape.NoHost, statusCode, probe.Kind == ProbeKind.Liveness ? ProberRole.Liveness : ProberRole.Readiness);
        Log.Answered(_logger, probe.Verb, probe.Kind, statusCode);

        var output = connection.Transport.Output;
        var answer = ArrayPool<byte>.Shared.Rent(ProbeAnswers.MaxHeadLength);
        try
        {
            // Not ConnectionClosed: Kestrel fires it as soon as the client half-closes, and a FIN after a complete
            // request (`nc -N`, `socat`, some probers) still wants the answer. The answer is a few hundred bytes, far
            // below the pipe's pause threshold, so the write never waits for a client that does not read.
            var length = ProbeAnswers.WriteProbe(answer, probe.Verb, verdict.Status, plainText: false, _date.Current);
            await output.WriteAsync(answer.AsMemory(0, length)).ConfigureAwait(false);

            // One request per connection: returning hands the connection back to Kestrel, which sends what is
            // written and closes it.
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client really went away (a reset): anyone can do that at will, so it is worth no more than this.
            Log.Aborted(_logger, exception.GetType().Name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(answer);
        }
    }

    private Decision Decide(in ReadOnlySequence<byte> buffer, out ConnectionProbe probe)
    {
        if (buffer.IsSingleSegment || buffer.FirstSpan.Length >= ProbeHeadReader.MaxLength)
        {
            var first = buffer.FirstSpan;
            return Decide(first.Length > ProbeHeadReader.MaxLength ? first[..ProbeHeadReader.MaxLength] : first, out probe);
        }

        Span<byte> head = stackalloc byte[ProbeHeadReader.MaxLength];
        var length = (int)Math.Min(buffer.Length, ProbeHeadReader.MaxLength);
        buffer.Slice(0, length).CopyTo(head);
        return Decide(head[..length], out probe);
    }

    /// <summary>
    /// Answers only <c>GET|HEAD|OPTIONS {probe path} HTTP/1.1</c> or <c>OPTIONS * HTTP/1.1</c> without Host: HTTP/1.0
    /// without Host is valid and reaches the first middleware, and a Host header of any value means Kestrel parses the
    /// request. The status page is for people with browsers, which always send Host.
    /// </summary>
    private Decision Decide(ReadOnlySpan<byte> data, out ConnectionProbe probe)
    {
        probe = default;
        if (!ProbeHeadReader.MayBeProbe(data, _route))
        {
            return Decision.Pass;
        }

        switch (ProbeHeadReader.Read(data, ProbeLeniency.None, out var head))
        {
            case ProbeHeadParse.Incomplete:
                return data.Length < ProbeHeadReader.MaxLength ? Decision.NeedMore : Decision.Pass;
            case ProbeHeadParse.Complete when head.IsHttp11 && !head.HasHost:
                break;
            default:
                return Decision.Pass;
        }

        var verb = ProbeMethod.Parse(data[head.Method]);
        var kind = head.IsAsterisk ? ProbeKind.Readiness : _route.Match(data[head.Path], statusPage: false);
        if (ProbeRoute.Refusal(kind, verb, head.IsAsterisk) != ProbeRefusal.None)
        {
            return Decision.Pass;
        }

        probe = new ConnectionProbe(verb, kind);
        return Decision.Answer;
    }

    /// <summary>The probe found in a request head: its method and which verdict it asks for.</summary>
    private readonly record struct ConnectionProbe(ProbeVerb Verb, ProbeKind Kind);

    private enum Decision
    {
        /// <summary>Not a probe Kestrel would refuse: hand the connection to Kestrel with nothing consumed.</summary>
        Pass,

        /// <summary>Could still become one: read more (bounded by size and time).</summary>
        NeedMore,

        /// <summary>A probe Kestrel would refuse: answer it here and close the connection.</summary>
        Answer,
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, EventName = "ConnectionProbeAnswered", Level = LogLevel.Debug,
            Message = "Answered an HTTP/1.1 {Verb} probe without a Host header ({Kind}) at the connection level with {StatusCode}; Kestrel would have refused it with 400.")]
        public static partial void Answered(ILogger logger, ProbeVerb verb, ProbeKind kind, int statusCode);

        [LoggerMessage(EventId = 400, EventName = "ConnectionProbeAborted", Level = LogLevel.Debug,
            Message = "A client went away while the connection door read or answered its request ({Exception}); nothing to answer.")]
        public static partial void Aborted(ILogger logger, string exception);

        [LoggerMessage(EventId = 440, EventName = "ConnectionDoorNotBehindTls", Level = LogLevel.Warning,
            Message = "HealthKit's connection door could not be placed behind Kestrel's TLS handshake on an HTTPS endpoint, so HTTP/1.1 probes without a Host header over TLS get Kestrel's 400. Give those probes a Host header, or probe over plain HTTP or DeployHealth:ProbeListener:Port.")]
        public static partial void NotBehindTls(ILogger logger);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using HealthKit.Balancers;
using HealthKit.Diagnostics;
using HealthKit.Doors.Http;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Connection;

/// <summary>
/// Kestrel connection middleware on every HTTP/1 endpoint: looks at the first request head of a connection without
/// consuming it and answers only a probe that Kestrel's HTTP/1 parser would refuse with 400 before any middleware runs
/// (HTTP/1.1 without Host on a probe path, see <see cref="ProbeHead"/>). Everything else (TLS, the HTTP/2 preface,
/// every other request, every probe Kestrel accepts) goes to Kestrel byte for byte: the bytes are examined, never
/// consumed, as Kestrel's own <c>HttpConnectionMiddleware</c> and HTTPS middleware leave the transport to the next one.
/// Bounded: <see cref="ProbeHead.MaxLength"/> bytes, <see cref="Patience"/> of waiting (then Kestrel gets the
/// connection as it is), one request answered, then the connection closes.
/// </summary>
internal sealed partial class ConnectionDoor
{
    /// <summary>How long the door waits for the bytes it needs; a prober sends its head at once.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly ProbePaths _paths;
    private readonly HealthVerdict _verdict;
    private readonly ProberLedger? _balancers;
    private readonly HealthKitMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ConnectionDoor> _logger;
    private readonly List<ListenOptions> _http1Refused = [];
    private int _endpoints;

    public ConnectionDoor(ProbePaths paths, HealthVerdict verdict, HealthKitMetrics metrics, TimeProvider time, ILogger<ConnectionDoor> logger, ProberLedger? balancers = null)
    {
        _balancers = balancers;
        _paths = paths;
        _verdict = verdict;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Gets how many endpoints Kestrel built with the door in front (HTTP/2-only endpoints count, unwrapped).</summary>
    public int Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>Puts the door in front of <paramref name="next"/>, unless the endpoint cannot speak HTTP/1.</summary>
    public ConnectionDelegate Wrap(ListenOptions endpoint, ConnectionDelegate next)
    {
        if ((endpoint.Protocols & HttpProtocols.Http1) == 0)
        {
            lock (_http1Refused)
            {
                _http1Refused.Add(endpoint);
            }
        }

        return Wrap(endpoint.Protocols, next);
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

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
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
                if (decision == ProbeHeadResult.Answer)
                {
                    input.AdvanceTo(buffer.End);
                    return probe;
                }

                if (decision == ProbeHeadResult.NeedMore && !result.IsCompleted && !result.IsCanceled)
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
            ? _verdict.Liveness()
            : await _verdict.ReadinessAsync().ConfigureAwait(false);
        var statusCode = verdict.HttpStatusCode;
        _metrics.RecordProbe(probe.Kind == ProbeKind.Liveness ? "live" : "ready", statusCode);
        _balancers?.Record(ProberDoor.Connection, (connection.RemoteEndPoint as IPEndPoint)?.Address, default, probe.Kind == ProbeKind.Liveness ? _paths.Liveness : _paths.Readiness, ProbeShape.NoHost, statusCode, probe.Kind == ProbeKind.Liveness ? ProberRole.Liveness : ProberRole.Readiness);
        Log.Answered(_logger, probe.Verb, probe.Kind, statusCode);

        var output = connection.Transport.Output;
        try
        {
            // Not ConnectionClosed: Kestrel fires it as soon as the client half-closes, and a FIN after a complete
            // request (`nc -N`, `socat`, some probers) still wants the answer. The answer is a few hundred bytes, far
            // below the pipe's pause threshold, so the write never waits for a client that does not read.
            await output.WriteAsync(ConnectionResponse.For(probe.Verb, verdict.Status)).ConfigureAwait(false);

            // One request per connection: returning hands the connection back to Kestrel, which sends what is
            // written and closes it.
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client really went away (a reset): anyone can do that at will, so it is worth no more than this.
            Log.Aborted(_logger, exception.GetType().Name);
        }
    }

    private ProbeHeadResult Decide(in ReadOnlySequence<byte> buffer, out ConnectionProbe probe)
    {
        if (buffer.IsSingleSegment || buffer.FirstSpan.Length >= ProbeHead.MaxLength)
        {
            var first = buffer.FirstSpan;
            return ProbeHead.Inspect(first.Length > ProbeHead.MaxLength ? first[..ProbeHead.MaxLength] : first, _paths, out probe);
        }

        Span<byte> head = stackalloc byte[ProbeHead.MaxLength];
        var length = (int)Math.Min(buffer.Length, ProbeHead.MaxLength);
        buffer.Slice(0, length).CopyTo(head);
        return ProbeHead.Inspect(head[..length], _paths, out probe);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, EventName = "ConnectionProbeAnswered", Level = LogLevel.Debug,
            Message = "Answered an HTTP/1.1 {Verb} probe without a Host header ({Kind}) at the connection level with {StatusCode}; Kestrel would have refused it with 400.")]
        public static partial void Answered(ILogger logger, ProbeVerb verb, ProbeKind kind, int statusCode);

        [LoggerMessage(EventId = 400, EventName = "ConnectionProbeAborted", Level = LogLevel.Debug,
            Message = "A client went away while the connection door read or answered its request ({Exception}); nothing to answer.")]
        public static partial void Aborted(ILogger logger, string exception);
    }
}

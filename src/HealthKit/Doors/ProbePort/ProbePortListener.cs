// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using HealthKit.Balancers;
using HealthKit.Configuration;
using HealthKit.Diagnostics;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Sockets;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.ProbePort;

/// <summary>
/// HealthKit's own probe listener (<see cref="DeployHealthProbeListenerOptions.Port"/>): a deliberately tiny HTTP/1.x
/// responder for probes, not a web server. It exists because the main port answers through Kestrel, whose
/// connections, like HealthKit's middleware, run on the thread pool: when the app's requests block the pool,
/// every probe, liveness included, times out and Kubernetes restarts a pod that is only busy. Its connections are
/// served by a <see cref="SocketLoop"/> on a thread of its own; this door only reads the head
/// (<see cref="ProbeHeadReader"/>) and answers from <see cref="HealthVerdict.Readiness"/> and
/// <see cref="HealthVerdict.Liveness"/>, which never wait. One request per connection, a bounded head, a total
/// deadline on each phase, a cap on open connections (<see cref="Limits"/>); never a 500.
/// </summary>
internal sealed partial class ProbePortListener : IHostedService, IDisposable, ISocketProtocol
{
    /// <summary>
    /// The head, the answer and the lingering close end 2, 2 and 1 s after each begins; a probe's head is a few hundred
    /// bytes (kubelet's with custom headers stays well under 8 KiB). 4,096 connections: with 1,024, reconnecting
    /// attackers closed the oldest on every accept and overflowed the accept queue (docs/operators.md).
    /// </summary>
    internal static readonly SocketLimits Limits = new()
    {
        MaxConnections = 4096,
        AcceptBatch = 256,
        ReadDeadline = TimeSpan.FromSeconds(2),
        AnswerDeadline = TimeSpan.FromSeconds(2),
        LingerDeadline = TimeSpan.FromSeconds(1),
        MaxDrainBytes = 64 * 1024,
        SmallHeadBytes = 1024,
        MaxHeadBytes = 8 * 1024,
    };

    private readonly HealthVerdict _verdict;
    private readonly HealthDocumentWriter _document;
    private readonly HealthKitMetrics _metrics;
    private readonly ProberLedger? _balancers;
    private readonly DeployHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProbePortListener> _logger;
    private readonly DateHeader _date;
    private readonly ProbeRoute _route;
    private readonly bool _details;

    // Touched only by the loop's thread; the loop sends an answer before it asks for the next.
    private readonly byte[] _output = new byte[ProbeAnswers.MaxHeadLength + 64];

    private SocketLoop? _loop;

    public ProbePortListener(
        HealthVerdict verdict,
        ProbeRoute route,
        HealthDocumentWriter document,
        HealthKitMetrics metrics,
        IOptions<DeployHealthOptions> options,
        TimeProvider time,
        ILogger<ProbePortListener> logger,
        ProberLedger? balancers = null)
    {
        _balancers = balancers;
        _verdict = verdict;
        _document = document;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _date = new DateHeader(time);
        _route = route;

        // Details only where no forwarder can bring a remote caller: a listener that only this host can reach.
        _details = _options.ProbeListener.DetailsForLoopback && DeployHealthOptionsValidator.ProbeListenerIsLoopback(_options);
    }

    /// <summary>
    /// Binds while the host starts, before any probe can come: a port that is in use or not allowed stops the start
    /// with a message naming the setting, instead of a worker that runs without the probes its orchestrator expects.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.ProbeListener.Port is not { } port)
        {
            return Task.CompletedTask;
        }

        var address = IPAddress.Parse(_options.ProbeListener.Address);

        // A thread of its own, never the pool's: the point of this door is to answer while the pool is starved.
        var loop = new SocketLoop("HealthKit probe port", Limits, this, _time);
        try
        {
            loop.Start(address, port);
        }
        catch (SocketException exception)
        {
            throw new InvalidOperationException(Describe(exception.SocketErrorCode, address, port), exception);
        }

        _loop = loop;
        Log.Listening(_logger, _options.ProbeListener.Address, port, _details ? "with details" : "anonymous");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _loop?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _loop?.Dispose();

    /// <summary>Answers a complete head, a malformed one or one over <see cref="SocketLimits.MaxHeadBytes"/>; waits for the rest otherwise.</summary>
    public SocketReply Answer(SocketRequest request)
    {
        var data = request.Received;
        switch (ProbeHeadReader.Read(data, ProbeLeniency.Listener, out var head))
        {
            case ProbeHeadParse.Complete:
                return Respond(data, head, request.Peer);
            case ProbeHeadParse.Malformed:
                return Reply(400, null, [], ReadOnlySpan<byte>.Empty, head: false);
            case ProbeHeadParse.UnsupportedVersion:
                return Reply(505, null, [], ReadOnlySpan<byte>.Empty, head: false);
        }

        return request.IsFull ? Reply(431, null, [], ReadOnlySpan<byte>.Empty, head: false) : SocketReply.None;
    }

    public void AcceptFailed(SocketError error) => Log.AcceptFailed(_logger, error.ToString());

    public void AnswerFailed(Exception exception) => Log.AnswerFailed(_logger, exception);

    private static string Describe(SocketError error, IPAddress address, int port) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"DeployHealth:ProbeListener:Port {port} is already in use on {address}: another process (or the app's own Kestrel endpoint) listens there. Choose a free port for the probe listener, or remove DeployHealth:ProbeListener:Port to switch it off.",
        SocketError.AccessDenied =>
            $"DeployHealth:ProbeListener:Port {port} on {address} may not be bound by this process (ports below 1024 need privileges). Choose a port from 1024 to 65535.",
        SocketError.AddressNotAvailable =>
            $"DeployHealth:ProbeListener:Address {address} is not an address of this host, so DeployHealth:ProbeListener:Port {port} cannot be bound. Use 0.0.0.0 for all interfaces or an address the host has.",
        _ => $"The probe listener could not bind DeployHealth:ProbeListener:Port {port} on DeployHealth:ProbeListener:Address {address}: {error}.",
    };

    private SocketReply Respond(ReadOnlySpan<byte> data, ProbeHead request, IPAddress? peer)
    {
        // The one method rule and route of every door: exactly GET, HEAD, OPTIONS; "head" is an unknown method (405).
        var verb = ProbeMethod.Parse(data[request.Method]);
        var kind = request.IsAsterisk ? ProbeKind.Readiness : _route.Match(data[request.Path], statusPage: _details);
        var refusal = ProbeRoute.Refusal(kind, verb, request.IsAsterisk);
        if (refusal != ProbeRefusal.None)
        {
            var allow = refusal != ProbeRefusal.MethodNotAllowed ? ReadOnlySpan<byte>.Empty
                : kind == ProbeKind.StatusPage ? ProbeAnswers.PageAllowBytes : ProbeAnswers.AllowBytes;
            if (refusal == ProbeRefusal.MethodNotAllowed)
            {
                _metrics.RecordProbe(ProbeRoute.EndpointName(kind), 405);
            }

            return Reply(ProbeAnswers.StatusCode(refusal), null, [], allow, head: false);
        }

        var verdict = kind == ProbeKind.Liveness ? _verdict.Liveness() : _verdict.Readiness();
        var statusCode = verdict.HttpStatusCode;
        _metrics.RecordProbe(ProbeRoute.EndpointName(kind), kind == ProbeKind.StatusPage ? 200 : statusCode);
        if (kind != ProbeKind.StatusPage)
        {
            // The same identity the main port records: User-Agent, and the framing that tells HAProxy apart.
            var shape = (request.IsHttp11 ? ProbeShape.None : ProbeShape.Http10) | (request.HasHost ? ProbeShape.None : ProbeShape.NoHost);
            _balancers?.Record(
                ProberDoor.ProbePort,
                peer,
                request.HasUserAgent ? data[request.UserAgent] : [],
                request.IsAsterisk ? "*"u8 : data[request.Path],
                shape,
                statusCode,
                kind == ProbeKind.Liveness ? ProberRole.Liveness : ProberRole.Readiness);
        }

        if (verb == ProbeVerb.Options)
        {
            // As on the main port: the status, Allow and no content.
            return Reply(statusCode, null, [], ProbeAnswers.AllowBytes, head: false);
        }

        var plainText = request.HasAccept && ProbeAnswers.WantsPlainText(data[request.Accept]);
        byte[] body;
        string contentType;
        if (kind == ProbeKind.StatusPage)
        {
            statusCode = 200;
            body = StatusPage.Render(verdict, "Health", _document);
            contentType = StatusPage.ContentType;
        }
        else if (kind == ProbeKind.Readiness && _details && !plainText)
        {
            body = _document.Write(verdict);
            contentType = ProbeAnswers.HealthJson;
        }
        else
        {
            body = ProbeAnswers.Body(verdict.Status, plainText, out contentType);
        }

        return Reply(statusCode, contentType, body, ReadOnlySpan<byte>.Empty, head: verb == ProbeVerb.Head);
    }

    private SocketReply Reply(int statusCode, string? contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> allow, bool head)
    {
        var length = ProbeAnswers.WriteHead(_output, statusCode, contentType, body.Length, allow, _date.Current);
        if (head || body.IsEmpty)
        {
            return new SocketReply(_output.AsSpan(0, length));
        }

        if (length + body.Length <= _output.Length)
        {
            // The anonymous bodies fit with the head: one segment, as a prober reads it.
            body.CopyTo(_output.AsSpan(length));
            return new SocketReply(_output.AsSpan(0, length + body.Length));
        }

        return new SocketReply(_output.AsSpan(0, length), body);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 242, EventName = "ProbePortListening", Level = LogLevel.Information,
            Message = "HealthKit probe listener on {Address}:{Port} ({Details}), on a thread of its own.")]
        public static partial void Listening(ILogger logger, string address, int port, string details);

        [LoggerMessage(EventId = 243, EventName = "ProbePortAcceptFailed", Level = LogLevel.Debug,
            Message = "The probe listener could not accept a connection: {Error}.")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 244, EventName = "ProbePortAnswerFailed", Level = LogLevel.Warning,
            Message = "The probe listener could not answer a connection; the next probe is answered as usual.")]
        public static partial void AnswerFailed(ILogger logger, Exception exception);
    }
}

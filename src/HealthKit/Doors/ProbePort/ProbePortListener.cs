// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using HealthKit.Configuration;
using HealthKit.Diagnostics;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.ProbePort;

/// <summary>
/// HealthKit's own probe listener (<see cref="DeployHealthOptions.ProbePort"/>): a deliberately tiny HTTP/1.x
/// responder for probes, not a web server. It exists because the main port answers through Kestrel, whose
/// connections, like HealthKit's middleware, run on the thread pool: when the app's requests block the pool,
/// every probe, liveness included, times out and Kubernetes restarts a pod that is only busy. This listener runs on
/// threads of its own with blocking sockets and answers from <see cref="HealthVerdict.Readiness"/> and
/// <see cref="HealthVerdict.Liveness"/>, which never wait; nothing here needs a pool thread to make progress.
/// One request per connection, a bounded head, a read deadline, a bounded queue of connections; never a 500.
/// </summary>
internal sealed partial class ProbePortListener : IHostedService, IDisposable
{
    /// <summary>A probe's head is a few hundred bytes; kubelet's with custom headers stays well under this.</summary>
    internal const int MaxHeadBytes = 8 * 1024;

    /// <summary>From accept to the end of the head: probers send their request at once; a slow client is dropped.</summary>
    internal static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(2);

    /// <summary>Threads answering connections; each holds a connection that has begun its head at most <see cref="ReadDeadline"/>.</summary>
    internal const int Handlers = 4;

    /// <summary>Accepted connections waiting for a handler; beyond it a connection is closed at once.</summary>
    internal const int QueueCapacity = 64;

    private readonly HealthVerdict _verdict;
    private readonly HealthDocumentWriter _document;
    private readonly HealthKitMetrics _metrics;
    private readonly DeployHealthOptions _options;
    private readonly ILogger<ProbePortListener> _logger;
    private readonly DateHeader _date;
    private readonly ProbeRoute _route;
    private readonly bool _details;
    private readonly BlockingCollection<(Socket Socket, long AcceptedAt)> _queue = new(QueueCapacity);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Thread> _threads = [];
    private Socket? _listener;

    public ProbePortListener(
        HealthVerdict verdict,
        ProbeRoute route,
        HealthDocumentWriter document,
        HealthKitMetrics metrics,
        IOptions<DeployHealthOptions> options,
        TimeProvider time,
        ILogger<ProbePortListener> logger)
    {
        _verdict = verdict;
        _document = document;
        _metrics = metrics;
        _options = options.Value;
        _logger = logger;
        _date = new DateHeader(time);
        _route = route;

        // Details only where no forwarder can bring a remote caller: a listener that only this host can reach.
        _details = _options.DetailsForLoopback && DeployHealthOptionsValidator.ProbeListenerIsLoopback(_options);
    }

    /// <summary>The port actually bound (the configured one), or <see langword="null"/> when the listener is off.</summary>
    public int? Port => (_listener?.LocalEndPoint as IPEndPoint)?.Port;

    /// <summary>
    /// Binds while the host starts, before any probe can come: a port that is in use or not allowed stops the start
    /// with a message naming the setting, instead of a worker that runs without the probes its orchestrator expects.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.ProbePort is not { } port)
        {
            return Task.CompletedTask;
        }

        var address = IPAddress.Parse(_options.ProbeAddress);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(QueueCapacity);
        }
        catch (SocketException exception)
        {
            listener.Dispose();
            throw new InvalidOperationException(Describe(exception.SocketErrorCode, address, port), exception);
        }

        _listener = listener;
        Start(AcceptLoop, "HealthKit probe port accept");
        for (var i = 0; i < Handlers; i++)
        {
            Start(HandleLoop, "HealthKit probe port handler");
        }

        Log.Listening(_logger, _options.ProbeAddress, port, _details ? "with details" : "anonymous");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Stop();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Stop();
        _stopping.Dispose();
        _queue.Dispose();
    }

    private static string Describe(SocketError error, IPAddress address, int port) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"DeployHealth:ProbePort {port} is already in use on {address}: another process (or the app's own Kestrel endpoint) listens there. Choose a free port for the probe listener, or remove DeployHealth:ProbePort to switch it off.",
        SocketError.AccessDenied =>
            $"DeployHealth:ProbePort {port} on {address} may not be bound by this process (ports below 1024 need privileges). Choose a port from 1024 to 65535.",
        SocketError.AddressNotAvailable =>
            $"DeployHealth:ProbeAddress {address} is not an address of this host, so DeployHealth:ProbePort {port} cannot be bound. Use 0.0.0.0 for all interfaces or an address the host has.",
        _ => $"The probe listener could not bind DeployHealth:ProbePort {port} on DeployHealth:ProbeAddress {address}: {error}.",
    };

    private void Start(ThreadStart loop, string name)
    {
        // Threads of its own, never the pool's: the point of this door is to answer while the pool is starved.
        var thread = new Thread(loop) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private void Stop()
    {
        if (_listener is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Dispose();
        _queue.CompleteAdding();
        foreach (var thread in _threads)
        {
            // A handler holds a connection at most the read deadline; the accept loop wakes every 200 ms.
            thread.Join(ReadDeadline + TimeSpan.FromSeconds(1));
        }

        while (_queue.TryTake(out var waiting))
        {
            waiting.Socket.Dispose();
        }
    }

    private void AcceptLoop()
    {
        var listener = _listener!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                // Poll, then accept: a blocking accept would not notice the stop on every platform.
                if (!listener.Poll(200_000, SelectMode.SelectRead))
                {
                    continue;
                }

                socket = listener.Accept();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException exception)
            {
                // A connection reset before it was accepted, or out of descriptors: the next one may work.
                Log.AcceptFailed(_logger, exception.SocketErrorCode.ToString());
                continue;
            }

            bool queued;
            try
            {
                queued = _queue.TryAdd((socket, Environment.TickCount64));
            }
            catch (InvalidOperationException)
            {
                queued = false;
            }

            if (!queued)
            {
                // Bounded: a flood (or a slow-client attack) closes the excess instead of growing without limit.
                socket.Dispose();
            }
        }
    }

    private void HandleLoop()
    {
        var head = new byte[MaxHeadBytes];
        var output = new byte[ProbeAnswers.MaxHeadLength + 64];
        try
        {
            foreach (var connection in _queue.GetConsumingEnumerable(_stopping.Token))
            {
                // A connection that has sent nothing yet goes to the back of the queue instead of holding this
                // thread: silent clients (slowloris) cannot keep a probe that is ready behind them waiting.
                if (!Readable(connection.Socket))
                {
                    if (Environment.TickCount64 - connection.AcceptedAt >= ReadDeadline.TotalMilliseconds || !Requeue(connection))
                    {
                        connection.Socket.Dispose();
                    }

                    continue;
                }

                using (connection.Socket)
                {
                    Answer(connection.Socket, connection.AcceptedAt, head, output);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Whether the connection has bytes (or its end) to read, waiting briefly so an idle queue does not spin.</summary>
    private static bool Readable(Socket socket)
    {
        try
        {
            return socket.Poll(50_000, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private bool Requeue((Socket Socket, long AcceptedAt) connection)
    {
        try
        {
            return _queue.TryAdd(connection);
        }
        catch (InvalidOperationException)
        {
            // Stopping: no more connections are taken.
            return false;
        }
    }

    private void Answer(Socket socket, long acceptedAt, byte[] head, byte[] output)
    {
        try
        {
            socket.NoDelay = true;
            socket.SendTimeout = (int)ReadDeadline.TotalMilliseconds;
            var filled = 0;
            while (true)
            {
                // Socket timeouts are wall-clock by nature; the deadline counts from accept, so time spent in the
                // queue counts too and a connection never lives longer than the deadline plus one answer.
                var remaining = ReadDeadline.TotalMilliseconds - (Environment.TickCount64 - acceptedAt);
                if (remaining <= 0)
                {
                    return;
                }

                socket.ReceiveTimeout = (int)Math.Max(1, remaining);
                var read = socket.Receive(head, filled, head.Length - filled, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                var parse = ProbeHeadReader.Read(head.AsSpan(0, filled), ProbeLeniency.Listener, out var request);
                switch (parse)
                {
                    case ProbeHeadParse.Complete:
                        Respond(socket, head.AsSpan(0, filled), request, output);
                        return;
                    case ProbeHeadParse.Malformed:
                        Send(socket, output, 400, null, [], ReadOnlySpan<byte>.Empty, head: false);
                        return;
                    case ProbeHeadParse.UnsupportedVersion:
                        Send(socket, output, 505, null, [], ReadOnlySpan<byte>.Empty, head: false);
                        return;
                }

                if (filled == head.Length)
                {
                    Send(socket, output, 431, null, [], ReadOnlySpan<byte>.Empty, head: false);
                    return;
                }
            }
        }
        catch (SocketException)
        {
            // Read deadline passed or the prober went away: nothing to answer.
        }
        catch (ObjectDisposedException)
        {
        }
#pragma warning disable CA1031 // Whatever fails, this door answers the next probe; a thrown exception would end the thread.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.AnswerFailed(_logger, exception);
        }
    }

    private void Respond(Socket socket, ReadOnlySpan<byte> data, ProbeHead request, byte[] output)
    {
        // The one method rule and route of every door: exactly GET, HEAD, OPTIONS; "head" is an unknown method (405).
        var verb = ProbeMethod.Parse(data[request.Method]);
        var kind = request.IsAsterisk ? ProbeKind.Readiness : _route.Match(data[request.Path], statusPage: _details);
        var refusal = ProbeRoute.Refusal(kind, verb, request.IsAsterisk);
        if (refusal != ProbeRefusal.None)
        {
            var allow = refusal != ProbeRefusal.MethodNotAllowed ? ReadOnlySpan<byte>.Empty
                : kind == ProbeKind.StatusPage ? ProbeAnswers.PageAllowBytes : ProbeAnswers.AllowBytes;
            Send(socket, output, ProbeAnswers.StatusCode(refusal), null, [], allow, head: false);
            if (refusal == ProbeRefusal.MethodNotAllowed)
            {
                _metrics.RecordProbe(ProbeRoute.EndpointName(kind), 405);
            }

            return;
        }

        var verdict = kind == ProbeKind.Liveness ? _verdict.Liveness() : _verdict.Readiness();
        var statusCode = verdict.HttpStatusCode;
        _metrics.RecordProbe(ProbeRoute.EndpointName(kind), kind == ProbeKind.StatusPage ? 200 : statusCode);
        if (verb == ProbeVerb.Options)
        {
            // As on the main port: the status, Allow and no content.
            Send(socket, output, statusCode, null, [], ProbeAnswers.AllowBytes, head: false);
            return;
        }

        var plainText = request.HasAccept && ProbeAnswers.WantsPlainText(data[request.Accept]);
        byte[] body;
        string contentType;
        if (kind == ProbeKind.StatusPage)
        {
            statusCode = 200;
            body = StatusPage.Render(verdict.Snapshot, verdict.Status, verdict.Reason, "Health", _document);
            contentType = StatusPage.ContentType;
        }
        else if (kind == ProbeKind.Readiness && _details && !plainText)
        {
            body = _document.Write(verdict.Snapshot, verdict.Status, verdict.Reason);
            contentType = ProbeAnswers.HealthJson;
        }
        else
        {
            body = ProbeAnswers.Body(verdict.Status, plainText, out contentType);
        }

        Send(socket, output, statusCode, contentType, body, ReadOnlySpan<byte>.Empty, head: verb == ProbeVerb.Head);
    }

    private void Send(Socket socket, byte[] output, int statusCode, string? contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> allow, bool head)
    {
        var length = ProbeAnswers.WriteHead(output, statusCode, contentType, body.Length, allow, _date.Current);
        if (head || body.IsEmpty)
        {
            SendAll(socket, output.AsSpan(0, length));
        }
        else if (length + body.Length <= output.Length)
        {
            // The anonymous bodies fit with the head: one segment, as a prober reads it.
            body.CopyTo(output.AsSpan(length));
            SendAll(socket, output.AsSpan(0, length + body.Length));
        }
        else
        {
            SendAll(socket, output.AsSpan(0, length));
            SendAll(socket, body);
        }

        socket.Shutdown(SocketShutdown.Send);
        DrainBeforeClose(socket, output);
    }

    /// <summary>
    /// A lingering close, as Kestrel does: closing with unread bytes (the rest of a head over the limit, a body)
    /// makes the kernel send a reset, and the client may lose the answer it has not read yet. A prober closes as
    /// soon as it has the answer, so this usually returns at once; anything else is bounded in time and bytes.
    /// </summary>
    private static void DrainBeforeClose(Socket socket, byte[] scratch)
    {
        socket.ReceiveTimeout = 1000;
        var drained = 0;
        while (drained < 64 * 1024)
        {
            var read = socket.Receive(scratch, SocketFlags.None);
            if (read == 0)
            {
                return;
            }

            drained += read;
        }
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[socket.Send(data, SocketFlags.None)..];
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 242, EventName = "ProbePortListening", Level = LogLevel.Information,
            Message = "HealthKit probe listener on {Address}:{Port} ({Details}), on threads of its own.")]
        public static partial void Listening(ILogger logger, string address, int port, string details);

        [LoggerMessage(EventId = 243, EventName = "ProbePortAcceptFailed", Level = LogLevel.Debug,
            Message = "The probe listener could not accept a connection: {Error}.")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 244, EventName = "ProbePortAnswerFailed", Level = LogLevel.Warning,
            Message = "The probe listener could not answer a connection; the next probe is answered as usual.")]
        public static partial void AnswerFailed(ILogger logger, Exception exception);
    }
}

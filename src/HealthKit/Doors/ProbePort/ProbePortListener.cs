// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.Net;
using System.Net.Sockets;
using HealthKit.Balancers;
using HealthKit.Configuration;
using HealthKit.Diagnostics;
using HealthKit.Lifecycle;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.ProbePort;

/// <summary>
/// HealthKit's own probe listener (<see cref="DeployHealthProbeListenerOptions.Port"/>): a deliberately tiny HTTP/1.x
/// responder for probes, not a web server. It exists because the main port answers through Kestrel, whose
/// connections, like HealthKit's middleware, run on the thread pool: when the app's requests block the pool,
/// every probe, liveness included, times out and Kubernetes restarts a pod that is only busy. This listener runs on
/// one thread of its own that multiplexes non-blocking sockets (<see cref="Socket.Select(System.Collections.IList, System.Collections.IList, System.Collections.IList, TimeSpan)"/>)
/// and answers from <see cref="HealthVerdict.Readiness"/> and <see cref="HealthVerdict.Liveness"/>, which never wait;
/// nothing here needs a pool thread to make progress, and no client holds the thread: a connection only costs its
/// socket and, once it has sent something, one head buffer. One request per connection, a bounded head, a total
/// deadline on each phase (head, answer, lingering close), at most <see cref="MaxConnections"/> at once; never a 500.
/// </summary>
internal sealed partial class ProbePortListener : IHostedService, IDisposable
{
    /// <summary>A probe's head is a few hundred bytes; kubelet's with custom headers stays well under this.</summary>
    internal const int MaxHeadBytes = 8 * 1024;

    /// <summary>From accept to the end of the head: probers send their request at once; a slow client is dropped.</summary>
    internal static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(2);

    /// <summary>From the answer to its last byte sent: a client that does not read it is dropped.</summary>
    internal static readonly TimeSpan AnswerDeadline = TimeSpan.FromSeconds(2);

    /// <summary>The whole lingering close after the answer, however the client trickles bytes.</summary>
    internal static readonly TimeSpan LingerDeadline = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Open connections at once. Beyond it the oldest is closed to make room: a probe is answered within
    /// milliseconds of its connection, so the oldest connection is the one least likely to be a prober's.
    /// </summary>
    internal const int MaxConnections = 4096;

    /// <summary>A probe's head fits here; only a longer one moves to a buffer of <see cref="MaxHeadBytes"/>.</summary>
    private const int SmallHeadBytes = 1024;

    /// <summary>What the lingering close reads (and discards) at most before it closes anyway.</summary>
    private const int MaxDrainBytes = 64 * 1024;

    /// <summary>The loop wakes at least this often, to see a stop; deadlines wake it sooner.</summary>
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);

    private readonly HealthVerdict _verdict;
    private readonly HealthDocumentWriter _document;
    private readonly HealthKitMetrics _metrics;
    private readonly ProberLedger? _balancers;
    private readonly DeployHealthOptions _options;
    private readonly ILogger<ProbePortListener> _logger;
    private readonly DateHeader _date;
    private readonly ProbeRoute _route;
    private readonly bool _details;

    // Touched only by the loop's thread.
    private readonly List<Connection> _open = [];
    private readonly Dictionary<Socket, Connection> _bySocket = [];
    private readonly byte[] _output = new byte[ProbeAnswers.MaxHeadLength + 64];
    private readonly byte[] _drain = new byte[4096];

    private long _acceptPausedUntil;
    private DedicatedLoop? _loop;
    private Socket? _listener;

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
        _logger = logger;
        _date = new DateHeader(time);
        _route = route;

        // Details only where no forwarder can bring a remote caller: a listener that only this host can reach.
        _details = _options.ProbeListener.DetailsForLoopback && DeployHealthOptionsValidator.ProbeListenerIsLoopback(_options);
    }

    /// <summary>The phase a connection is in; each has a deadline of its own.</summary>
    private enum Phase
    {
        Head,
        Answer,
        Linger,
    }

    private enum Step
    {
        Accepted,
        Read,
        Write,
    }

    /// <summary>The port actually bound (the configured one), or <see langword="null"/> when the listener is off.</summary>
    public int? Port => (_listener?.LocalEndPoint as IPEndPoint)?.Port;

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
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(address, port));

            // A flood of connects waits in the kernel's queue (as deep as it allows) for the next turn of the loop.
            listener.Listen(MaxConnections);
            listener.Blocking = false;
        }
        catch (SocketException exception)
        {
            listener.Dispose();
            throw new InvalidOperationException(Describe(exception.SocketErrorCode, address, port), exception);
        }

        _listener = listener;

        // A thread of its own, never the pool's: the point of this door is to answer while the pool is starved.
        _loop = new DedicatedLoop("HealthKit probe port", IdleWait + TimeSpan.FromSeconds(1));
        _loop.Start(Run);

        Log.Listening(_logger, _options.ProbeListener.Address, port, _details ? "with details" : "anonymous");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // The loop closes the listener and every connection as it ends, within one wait.
        _loop?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _loop?.Dispose();

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

    /// <summary>
    /// The loop: wait until the listener or a connection is ready or a deadline is due, serve what is ready (the
    /// connections first, then new ones), close what is past its deadline. Every socket call returns at once.
    /// </summary>
    private void Run(CancellationToken stopping)
    {
        var listener = _listener!;
        var readable = new List<Socket>();
        var writable = new List<Socket>();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var now = Environment.TickCount64;
                var wait = (long)IdleWait.TotalMilliseconds;
                readable.Clear();
                writable.Clear();
                if (now >= _acceptPausedUntil)
                {
                    readable.Add(listener);
                }
                else
                {
                    wait = Math.Min(wait, _acceptPausedUntil - now);
                }

                foreach (var connection in _open)
                {
                    (connection.Phase == Phase.Answer ? writable : readable).Add(connection.Socket);
                    wait = Math.Min(wait, connection.Deadline - now);
                }

                if (readable.Count == 0 && writable.Count == 0)
                {
                    stopping.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Max(wait, 1)));
                    continue;
                }

                // Select leaves in each list only the sockets that are ready.
                try
                {
                    Socket.Select(readable.Count > 0 ? readable : null, writable.Count > 0 ? writable : null, null, TimeSpan.FromMilliseconds(Math.Max(wait, 1)));
                }
                catch (SocketException exception)
                {
                    // Nothing a connection did; a wait that failed is tried again on the next turn, a moment later.
                    Log.AcceptFailed(_logger, exception.SocketErrorCode.ToString());
                    stopping.WaitHandle.WaitOne(10);
                    continue;
                }

                var accept = false;
                foreach (var socket in readable)
                {
                    if (ReferenceEquals(socket, listener))
                    {
                        accept = true;
                    }
                    else if (_bySocket.TryGetValue(socket, out var connection))
                    {
                        Serve(connection, Step.Read);
                    }
                }

                foreach (var socket in writable)
                {
                    if (_bySocket.TryGetValue(socket, out var connection))
                    {
                        Serve(connection, Step.Write);
                    }
                }

                if (accept)
                {
                    AcceptPending(listener);
                }

                now = Environment.TickCount64;
                foreach (var connection in _open)
                {
                    if (!connection.Closed && now >= connection.Deadline)
                    {
                        Close(connection);
                    }
                }

                _open.RemoveAll(static c => c.Closed);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            foreach (var connection in _open)
            {
                Close(connection);
            }

            _open.Clear();
            listener.Dispose();
        }
    }

    /// <summary>Accepts what the kernel has queued, then reads what each new connection already sent.</summary>
    private void AcceptPending(Socket listener)
    {
        // Bounded per turn, so the connections already open are served between bursts of a flood.
        for (var i = 0; i < 256; i++)
        {
            Socket socket;
            try
            {
                socket = listener.Accept();
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }
            catch (SocketException exception)
            {
                // A connection reset before it was accepted, or out of descriptors. The listener stays readable, so
                // accepting pauses briefly instead of spinning, and a descriptor is freed for the next probe.
                Log.AcceptFailed(_logger, exception.SocketErrorCode.ToString());
                _acceptPausedUntil = Environment.TickCount64 + 50;
                if (exception.SocketErrorCode == SocketError.TooManyOpenSockets && _bySocket.Count > 0)
                {
                    Close(Oldest());
                }

                return;
            }

            if (_bySocket.Count >= MaxConnections)
            {
                Close(Oldest());
            }

            var connection = new Connection(socket, Environment.TickCount64 + (long)ReadDeadline.TotalMilliseconds);
            _open.Add(connection);
            _bySocket.Add(socket, connection);
            Serve(connection, Step.Accepted);
        }
    }

    private Connection Oldest()
    {
        // In accept order; closed ones leave the list at the end of the turn.
        foreach (var connection in _open)
        {
            if (!connection.Closed)
            {
                return connection;
            }
        }

        throw new InvalidOperationException("No open connection to close.");
    }

    /// <summary>Runs one step for one connection; whatever fails closes that connection and nothing else.</summary>
    private void Serve(Connection connection, Step step)
    {
        try
        {
            switch (step)
            {
                case Step.Accepted:
                    connection.Socket.Blocking = false;
                    connection.Socket.NoDelay = true;

                    // A prober sends its head with the connect: it is often here already.
                    OnReadable(connection);
                    break;
                case Step.Read:
                    OnReadable(connection);
                    break;
                default:
                    OnWritable(connection);
                    break;
            }
        }
        catch (SocketException)
        {
            // The prober went away: nothing to answer.
            Close(connection);
        }
        catch (ObjectDisposedException)
        {
            Close(connection);
        }
#pragma warning disable CA1031 // Whatever fails, this door answers the next probe; a thrown exception would end the loop.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.AnswerFailed(_logger, exception);
            Close(connection);
        }
    }

    private void OnReadable(Connection connection)
    {
        if (connection.Phase == Phase.Linger)
        {
            Drain(connection);
            return;
        }

        // Small first, so thousands of slow clients cost a kilobyte each; a longer head moves to the full buffer.
        var head = connection.Head ??= ArrayPool<byte>.Shared.Rent(SmallHeadBytes);
        if (connection.Filled == head.Length && head.Length < MaxHeadBytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
            head.AsSpan(0, connection.Filled).CopyTo(larger);
            connection.ReturnHead();
            connection.Head = head = larger;
        }

        var limit = Math.Min(head.Length, MaxHeadBytes);
        var read = connection.Socket.Receive(head, connection.Filled, limit - connection.Filled, SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            return;
        }

        if (error != SocketError.Success || read == 0)
        {
            // Gone before its head was complete. A FIN after a complete head never ends up here: the head is
            // answered as soon as it is read, and a half-closed client still gets its answer.
            Close(connection);
            return;
        }

        connection.Filled += read;
        var filled = connection.Filled;
        var socket = connection.Socket;
        var parse = ProbeHeadReader.Read(head.AsSpan(0, filled), ProbeLeniency.Listener, out var request);
        switch (parse)
        {
            case ProbeHeadParse.Complete:
                Respond(socket, head.AsSpan(0, filled), request, _output);
                return;
            case ProbeHeadParse.Malformed:
                Send(socket, _output, 400, null, [], ReadOnlySpan<byte>.Empty, head: false);
                return;
            case ProbeHeadParse.UnsupportedVersion:
                Send(socket, _output, 505, null, [], ReadOnlySpan<byte>.Empty, head: false);
                return;
        }

        if (filled == MaxHeadBytes)
        {
            Send(socket, _output, 431, null, [], ReadOnlySpan<byte>.Empty, head: false);
        }
    }

    private void OnWritable(Connection connection)
    {
        var pending = connection.Pending!;
        var sent = TrySend(connection.Socket, pending.AsSpan(connection.PendingSent));
        connection.PendingSent += sent;
        if (connection.PendingSent == pending.Length)
        {
            Linger(connection);
        }
    }

    /// <summary>
    /// Sends what the socket takes now: the whole answer, as a rule (a probe's answer is far smaller than a socket's
    /// send buffer); what is left waits for the socket to be writable, within <see cref="AnswerDeadline"/>.
    /// </summary>
    private void Deliver(Socket socket, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var connection = _bySocket[socket];
        var sent = TrySend(socket, first);
        if (sent == first.Length)
        {
            first = [];
            sent = TrySend(socket, second);
            second = second[sent..];
        }
        else
        {
            first = first[sent..];
        }

        if (first.IsEmpty && second.IsEmpty)
        {
            Linger(connection);
            return;
        }

        var pending = new byte[first.Length + second.Length];
        first.CopyTo(pending);
        second.CopyTo(pending.AsSpan(first.Length));
        connection.Pending = pending;
        connection.Phase = Phase.Answer;
        connection.Deadline = Environment.TickCount64 + (long)AnswerDeadline.TotalMilliseconds;
        connection.ReturnHead();
    }

    private static int TrySend(Socket socket, ReadOnlySpan<byte> data)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            var count = socket.Send(data[sent..], SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            sent += count;
        }

        return sent;
    }

    /// <summary>
    /// A lingering close, as Kestrel does: closing with unread bytes (the rest of a head over the limit, a body)
    /// makes the kernel send a reset, and the client may lose the answer it has not read yet. A prober closes as
    /// soon as it has the answer, so this usually ends at once; anything else ends at <see cref="LingerDeadline"/>
    /// after the answer, or after <see cref="MaxDrainBytes"/>, whichever comes first.
    /// </summary>
    private void Linger(Connection connection)
    {
        connection.ReturnHead();
        connection.Pending = null;
        connection.Socket.Shutdown(SocketShutdown.Send);
        connection.Phase = Phase.Linger;
        connection.Deadline = Environment.TickCount64 + (long)LingerDeadline.TotalMilliseconds;
        Drain(connection);
    }

    private void Drain(Connection connection)
    {
        while (true)
        {
            var read = connection.Socket.Receive(_drain, 0, _drain.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            connection.Drained += read;
            if (error != SocketError.Success || read == 0 || connection.Drained >= MaxDrainBytes)
            {
                Close(connection);
                return;
            }
        }
    }

    private void Close(Connection connection)
    {
        if (connection.Closed)
        {
            return;
        }

        connection.Closed = true;
        _bySocket.Remove(connection.Socket);
        connection.ReturnHead();
        connection.Socket.Dispose();
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
        if (kind != ProbeKind.StatusPage)
        {
            // The same identity the main port records: User-Agent, and the framing that tells HAProxy apart.
            var shape = (request.IsHttp11 ? ProbeShape.None : ProbeShape.Http10) | (request.HasHost ? ProbeShape.None : ProbeShape.NoHost);
            _balancers?.Record(
                ProberDoor.ProbePort,
                (socket.RemoteEndPoint as IPEndPoint)?.Address,
                request.HasUserAgent ? data[request.UserAgent] : [],
                request.IsAsterisk ? "*"u8 : data[request.Path],
                shape,
                statusCode,
                kind == ProbeKind.Liveness ? ProberRole.Liveness : ProberRole.Readiness);
        }

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

        Send(socket, output, statusCode, contentType, body, ReadOnlySpan<byte>.Empty, head: verb == ProbeVerb.Head);
    }

    private void Send(Socket socket, byte[] output, int statusCode, string? contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> allow, bool head)
    {
        var length = ProbeAnswers.WriteHead(output, statusCode, contentType, body.Length, allow, _date.Current);
        if (head || body.IsEmpty)
        {
            Deliver(socket, output.AsSpan(0, length), []);
        }
        else if (length + body.Length <= output.Length)
        {
            // The anonymous bodies fit with the head: one segment, as a prober reads it.
            body.CopyTo(output.AsSpan(length));
            Deliver(socket, output.AsSpan(0, length + body.Length), []);
        }
        else
        {
            Deliver(socket, output.AsSpan(0, length), body);
        }
    }

    /// <summary>One connection's state between turns of the loop.</summary>
    private sealed class Connection(Socket socket, long deadline)
    {
        public Socket Socket { get; } = socket;

        /// <summary>When the current phase ends (<see cref="Environment.TickCount64"/>); the connection is closed then.</summary>
        public long Deadline { get; set; } = deadline;

        public Phase Phase { get; set; }

        /// <summary>The head read so far, rented once the client sends its first bytes.</summary>
        public byte[]? Head { get; set; }

        public int Filled { get; set; }

        /// <summary>What is left of the answer when the socket would not take it all at once.</summary>
        public byte[]? Pending { get; set; }

        public int PendingSent { get; set; }

        public int Drained { get; set; }

        public bool Closed { get; set; }

        public void ReturnHead()
        {
            if (Head is { } head)
            {
                Head = null;
                ArrayPool<byte>.Shared.Return(head);
            }
        }
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

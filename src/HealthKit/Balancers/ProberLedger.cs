// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Diagnostics;
using HealthKit.Probing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HealthKit.Balancers;

/// <summary>
/// Who probes this instance, per door: each prober's identity as its requests show it (peer, <c>User-Agent</c>, path),
/// its interval, its last answer and its failing answers in a row. Every door records the answer it sends; the first
/// middleware also watches the app's answers to requests that come from a known prober, and counts every other
/// request, so the drain can tell when traffic has stopped.
/// <para>
/// Bounded: at most <see cref="Capacity"/> probers with identities of at most 128 characters. A prober seen at least
/// <see cref="Established"/> times keeps its place; a newcomer takes the place of one seen fewer times (or of one that
/// has stopped probing), so a flood of distinct, spoofed identities only ever replaces itself, and a prober with a stream
/// open (a gRPC Watch) keeps its place while the stream lasts.
/// </para>
/// <para>
/// A known prober's probe is on the hot path and costs no allocation and no lock: it reads only what tells probers apart
/// (peer, <c>User-Agent</c>, path), finds its entry by comparing those with what the entries hold, and updates the
/// entry with interlocked writes. A prober probes one request at a time, so concurrent updates of one entry are rare,
/// and the worst a race does is blur one interval sample. Only a newcomer takes the lock, and reads <c>Host</c>,
/// <c>Connection</c> and the protocol, which tell probers without a <c>User-Agent</c> apart.
/// </para>
/// </summary>
internal sealed class ProberLedger
{
    public const int Capacity = 64;
    public const int Established = 3;
    internal const int MaxText = 128;
    private const string SelfTest = "HealthKit-SelfTest/";

    private readonly Lock _lock = new();
    private readonly Entry?[] _entries = new Entry?[Capacity];
    private readonly TimeProvider _time;
    private readonly ProbeRoute _paths;
    private readonly ProberWarnings _warnings;
    private readonly Func<object, Task> _onAppAnswered;
    private readonly bool _coarse;
    private readonly double _timeSpanTicksPerUnit;
    private readonly long _createdAt;
    private readonly DateTimeOffset _createdWall;
    private long _nextId;
    private long _requests;
    private long _turnedAway;

    public ProberLedger(TimeProvider time, ProbeRoute paths, ProberWarnings warnings, HealthKitMetrics? metrics = null)
    {
        _time = time;
        _paths = paths;
        _warnings = warnings;
        _onAppAnswered = OnAppAnswered;
        // Reading TimeProvider.System's clock costs about 26 ns, a third of a known prober's probe; the system's coarse
        // monotonic clock (Environment.TickCount64, milliseconds) costs a third of that and is fine enough for the
        // intervals of probers. Any other provider (a test's FakeTimeProvider) is read as given.
        _coarse = ReferenceEquals(time, TimeProvider.System);
        _timeSpanTicksPerUnit = _coarse ? TimeSpan.TicksPerMillisecond : (double)TimeSpan.TicksPerSecond / time.TimestampFrequency;
        _createdAt = Now();
        _createdWall = time.GetUtcNow();
        if (metrics is not null)
        {
            BalancerMetrics.Register(metrics.Meter, this);
        }
    }

    /// <summary>Gets how many requests that were not probes the app has been given (a plain counter: only whether it moves matters).</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Gets how many new identities found no place because every place held an established prober or an open stream.</summary>
    public long TurnedAway => Interlocked.Read(ref _turnedAway);

    /// <summary>Gets how long this ledger has been watching.</summary>
    public TimeSpan Uptime => Elapsed(_createdAt, Now());

    /// <summary>Records the answer an HTTP door (the first middleware, gRPC) sends to a probe.</summary>
    /// <param name="door">The door.</param>
    /// <param name="context">The probe's request.</param>
    /// <param name="statusCode">The status sent (gRPC: 200 serving, 503 not).</param>
    /// <param name="role">What the probe asked.</param>
    /// <param name="question">What the ledger calls the probe instead of its path (gRPC's service), or <see langword="null"/>.</param>
    public void Record(ProberDoor door, HttpContext context, int statusCode, ProberRole role, string? question = null)
    {
        var request = context.Request;
        var userAgent = request.Headers.UserAgent;
        var agent = Bound(userAgent.Count == 0 ? default : userAgent[0].AsSpan());

        // The connection feature directly: ConnectionInfo would be allocated for a context that has none yet.
        var peer = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        var path = Bound(question is not null ? question.AsSpan() : request.Path.HasValue ? request.Path.Value.AsSpan() : "*".AsSpan());
        var now = Now();
        if (Find(door, peer, agent, path) is { } known)
        {
            Answer(known, statusCode, now);
            return;
        }

        if (Admit(door, peer, agent, path, Shape(request), role, now, streamed: false) is { } admitted)
        {
            Answer(admitted, statusCode, now);
        }
    }

    /// <summary>
    /// Records a stream a prober opens (a gRPC Watch) and the first answer it is sent; the stream's later answers go to
    /// <see cref="ProberStream.Answered"/>, and disposing it closes the stream. While a stream is open its prober keeps
    /// its place and counts for the drain; its answers are pushed, so no interval is learnt from them.
    /// </summary>
    /// <returns>The stream, or <see langword="null"/> when the ledger had no place for the prober.</returns>
    public ProberStream? OpenStream(ProberDoor door, HttpContext context, int statusCode, ProberRole role, string question)
    {
        var request = context.Request;
        var userAgent = request.Headers.UserAgent;
        var agent = Bound(userAgent.Count == 0 ? default : userAgent[0].AsSpan());
        var peer = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        var path = Bound(question.AsSpan());
        var now = Now();
        Entry? entry;
        lock (_lock)
        {
            // Counted in under the lock, so the place cannot be given away between the look-up and the count.
            entry = AdmitLocked(door, peer, agent, path, Shape(request), role, now, streamed: true);
            if (entry is null)
            {
                return null;
            }

            entry.OpenStreams++;
        }

        Answer(entry, statusCode, now);
        return new ProberStream(this, entry);
    }

    /// <summary>
    /// Records the answer a door that reads bytes (the probe listener) sends, for a <c>User-Agent</c> (empty when
    /// absent) and a path as they came on the wire: decoded on the stack, so a known prober still allocates nothing.
    /// </summary>
    public void Record(ProberDoor door, IPAddress? peer, ReadOnlySpan<byte> userAgent, ReadOnlySpan<byte> path, ProbeShape shape, int statusCode, ProberRole role)
    {
        Span<char> agentChars = stackalloc char[MaxText];
        Span<char> pathChars = stackalloc char[MaxText];
        var agentLength = System.Text.Encoding.Latin1.GetChars(userAgent.Length > MaxText ? userAgent[..MaxText] : userAgent, agentChars);
        var pathLength = System.Text.Encoding.Latin1.GetChars(path.Length > MaxText ? path[..MaxText] : path, pathChars);
        Record(door, peer, agentChars[..agentLength], pathChars[..pathLength], shape, statusCode, role);
    }

    /// <summary>Records the answer a door sends to a probe, from what that door knows of it.</summary>
    public void Record(ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path, ProbeShape shape, int statusCode, ProberRole role)
    {
        userAgent = Bound(userAgent);
        path = Bound(path);
        var now = Now();
        var entry = Find(door, peer, userAgent, path) ?? Admit(door, peer, userAgent, path, shape, role, now, streamed: false);
        if (entry is not null)
        {
            Answer(entry, statusCode, now);
        }
    }

    /// <summary>
    /// Called by the first middleware for every request that is not a probe: counts it, and when it comes from a prober
    /// HealthKit recognises anywhere (<c>ELB-HealthChecker</c>, <c>kube-probe</c>, <c>GoogleHC</c>, HAProxy's HTTP/1.0
    /// without a single header) records what the app answers it once the response has completed. Browsers and other
    /// clients pay the counter and one look at the <c>User-Agent</c>.
    /// </summary>
    public void ObserveRequest(HttpContext context)
    {
        var headers = context.Request.Headers;
        var userAgent = headers.UserAgent;
        if (userAgent.Count == 0)
        {
            if (headers.Count != 0 || !HttpProtocol.IsHttp10(context.Request.Protocol))
            {
                Volatile.Write(ref _requests, _requests + 1);
                return;
            }
        }
        else if (ProberKinds.ByUserAgent(userAgent[0]) == ProberKind.Unknown)
        {
            Volatile.Write(ref _requests, _requests + 1);
            return;
        }

        context.Response.OnCompleted(_onAppAnswered, context);
    }

    /// <summary>Every prober in the ledger, most recently seen first.</summary>
    public ProberView[] Snapshot()
    {
        var now = Now();
        var views = new List<ProberView>(Capacity);
        lock (_lock)
        {
            foreach (var entry in _entries)
            {
                if (entry is not null)
                {
                    views.Add(View(entry, now));
                }
            }
        }

        views.Sort(static (a, b) => a.SinceLastSeen.CompareTo(b.SinceLastSeen));
        return [.. views];
    }

    private Task OnAppAnswered(object state)
    {
        var context = (HttpContext)state;
        Record(ProberDoor.Http, context, context.Response.StatusCode, ProberRole.App);
        return Task.CompletedTask;
    }

    private static ReadOnlySpan<char> Bound(ReadOnlySpan<char> text) => text.Length > MaxText ? text[..MaxText] : text;

    private static ProbeShape Shape(HttpRequest request)
    {
        var headers = request.Headers;
        var shape = ProbeShape.None;
        if (HttpProtocol.IsHttp10(request.Protocol))
        {
            shape |= ProbeShape.Http10;
        }

        if (headers.Host.Count == 0)
        {
            shape |= ProbeShape.NoHost;
        }

        if (headers.Connection.Count != 0 && string.Equals(headers.Connection[0], "close", StringComparison.OrdinalIgnoreCase))
        {
            shape |= ProbeShape.ConnectionClose;
        }

        return shape;
    }

    /// <summary>Without the lock: entries are published whole, and what identifies one never changes.</summary>
    private Entry? Find(ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path)
    {
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = Volatile.Read(ref entries[i]);
            if (entry is null)
            {
                // Places are filled in order and never emptied: nothing beyond the first free one.
                return null;
            }

            if (entry.Door == door
                && entry.UserAgent.Length == userAgent.Length
                && entry.Path.Length == path.Length
                && Equals(entry.Peer, peer)
                && userAgent.SequenceEqual(entry.UserAgent)
                && path.SequenceEqual(entry.Path))
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>One answer sent to a prober: its count, interval, last answer and failures in a row, without a lock.</summary>
    private void Answer(Entry entry, int statusCode, long now)
    {
        var count = Interlocked.Increment(ref entry.Count);
        var previous = Interlocked.Exchange(ref entry.LastSeen, now);
        if (count > 1 && !entry.Streamed && now >= previous)
        {
            var gap = now - previous;
            Volatile.Write(ref entry.IntervalTicks, count == 2 ? gap : ((Volatile.Read(ref entry.IntervalTicks) * 3) + gap) / 4);
        }

        Volatile.Write(ref entry.LastStatus, statusCode);
        if (statusCode is < 200 or >= 400)
        {
            Interlocked.Increment(ref entry.ConsecutiveFailures);
        }
        else if (Volatile.Read(ref entry.ConsecutiveFailures) != 0)
        {
            Volatile.Write(ref entry.ConsecutiveFailures, 0);
        }

        if (ProberWarnings.IsMisdirected(entry.Kind, statusCode) && Interlocked.Exchange(ref entry.Flagged, 1) == 0)
        {
            _warnings.Misdirected(View(entry, now), _paths.Readiness);
        }
    }

    /// <summary>
    /// A place for a new identity, under the lock: the identity's entry when another probe admitted it meanwhile; a
    /// free place; else the least recently seen of those not yet established; else the least recently seen of those
    /// that have stopped probing (three intervals and a minute). Never one with a stream open. None: turned away.
    /// </summary>
    private Entry? Admit(ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path, ProbeShape shape, ProberRole role, long now, bool streamed)
    {
        lock (_lock)
        {
            return AdmitLocked(door, peer, userAgent, path, shape, role, now, streamed);
        }
    }

    /// <summary><see cref="Admit"/>, for a caller that holds the lock.</summary>
    private Entry? AdmitLocked(ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path, ProbeShape shape, ProberRole role, long now, bool streamed)
    {
        // HealthKit's own start-up request to its liveness path is no prober.
        if (userAgent.StartsWith(SelfTest, StringComparison.Ordinal))
        {
            return null;
        }

        if (Find(door, peer, userAgent, path) is { } found)
        {
            return found;
        }

        var slot = -1;
        var transient = -1;
        var stale = -1;
        for (var i = 0; i < _entries.Length; i++)
        {
            var entry = _entries[i];
            if (entry is null)
            {
                slot = i;
                break;
            }

            if (entry.OpenStreams > 0)
            {
                continue;
            }

            var lastSeen = Volatile.Read(ref entry.LastSeen);
            if (Volatile.Read(ref entry.Count) < Established)
            {
                if (transient < 0 || lastSeen < Volatile.Read(ref _entries[transient]!.LastSeen))
                {
                    transient = i;
                }
            }
            else if (Elapsed(lastSeen, now) > (3 * Elapsed(0, Volatile.Read(ref entry.IntervalTicks))) + TimeSpan.FromMinutes(1)
                && (stale < 0 || lastSeen < Volatile.Read(ref _entries[stale]!.LastSeen)))
            {
                stale = i;
            }
        }

        slot = slot >= 0 ? slot : transient >= 0 ? transient : stale;
        if (slot < 0)
        {
            Interlocked.Increment(ref _turnedAway);
            return null;
        }

        var kind = ProberKinds.Classify(userAgent, shape);
        if (role != ProberRole.App && door == ProberDoor.Agent)
        {
            kind = ProberKind.HaproxyAgent;
        }

        var created = new Entry
        {
            Id = ++_nextId,
            Door = door,
            Peer = peer,
            UserAgent = userAgent.ToString(),
            Path = path.ToString(),
            Kind = kind,
            Role = role,
            Streamed = streamed,
            LastSeen = now,
        };
        Volatile.Write(ref _entries[slot], created);
        return created;
    }

    /// <summary>The ledger's clock: see the constructor.</summary>
    private long Now() => _coarse ? Environment.TickCount64 : _time.GetTimestamp();

    private TimeSpan Elapsed(long from, long to) => new((long)((to - from) * _timeSpanTicksPerUnit));

    private ProberView View(Entry entry, long now)
    {
        var lastSeen = Volatile.Read(ref entry.LastSeen);
        return new(
            entry.Id,
            entry.Door,
            entry.Peer,
            entry.UserAgent,
            entry.Path,
            entry.Kind,
            entry.Role,
            Volatile.Read(ref entry.Count),
            Elapsed(0, Volatile.Read(ref entry.IntervalTicks)),
            Elapsed(lastSeen, Math.Max(now, lastSeen)),
            Volatile.Read(ref entry.LastStatus),
            Volatile.Read(ref entry.ConsecutiveFailures),
            Seconds(_createdWall + Elapsed(_createdAt, lastSeen)),
            entry.Streamed,
            Volatile.Read(ref entry.OpenStreams));
    }

    private static DateTimeOffset Seconds(DateTimeOffset at) => new(at.Ticks - (at.Ticks % TimeSpan.TicksPerSecond), at.Offset);

    /// <summary>A stream open to a prober (a gRPC Watch), from <see cref="OpenStream"/>: its answers, then its end.</summary>
    internal sealed class ProberStream : IDisposable
    {
        private readonly ProberLedger _ledger;
        private readonly Entry _entry;
        private int _closed;

        internal ProberStream(ProberLedger ledger, Entry entry)
        {
            _ledger = ledger;
            _entry = entry;
        }

        /// <summary>Records an answer the stream sends.</summary>
        public void Answered(int statusCode) => _ledger.Answer(_entry, statusCode, _ledger.Now());

        /// <summary>Records that the stream ended.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                lock (_ledger._lock)
                {
                    _entry.OpenStreams--;
                }
            }
        }
    }

    // Identity fields are set before the entry is published and never change; the rest is written with interlocked or
    // volatile writes (OpenStreams under the lock).
    internal sealed class Entry
    {
        public long Id;
        public ProberDoor Door;
        public IPAddress? Peer;
        public string UserAgent = string.Empty;
        public string Path = string.Empty;
        public ProberKind Kind;
        public ProberRole Role;
        public long Count;
        public long LastSeen;
        public long IntervalTicks;
        public int LastStatus;
        public int ConsecutiveFailures;
        public int Flagged;
        public bool Streamed;
        public int OpenStreams;
    }
}

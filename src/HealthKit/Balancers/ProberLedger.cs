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
/// has stopped probing), so a flood of distinct, spoofed identities only ever replaces itself. A known prober costs no
/// allocation per probe: the lookup compares the strings the request already holds.
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
        _createdAt = time.GetTimestamp();
        _createdWall = time.GetUtcNow();
        if (metrics is not null)
        {
            BalancerMetrics.Register(metrics.Meter, this);
        }
    }

    /// <summary>Gets how many requests that were not probes the app has been given (a plain counter: only whether it moves matters).</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Gets how many new identities found no place because every place held an established prober.</summary>
    public long TurnedAway => Interlocked.Read(ref _turnedAway);

    /// <summary>Gets how long this ledger has been watching.</summary>
    public TimeSpan Uptime => _time.GetElapsedTime(_createdAt);

    /// <summary>Records the answer an HTTP door (the first middleware, gRPC) sends to a probe.</summary>
    /// <param name="door">The door.</param>
    /// <param name="context">The probe's request.</param>
    /// <param name="statusCode">The status sent (gRPC: 200 serving, 503 not).</param>
    /// <param name="role">What the probe asked.</param>
    /// <param name="question">What the ledger calls the probe instead of its path (gRPC's service), or <see langword="null"/>.</param>
    public void Record(ProberDoor door, HttpContext context, int statusCode, ProberRole role, string? question = null)
    {
        var request = context.Request;
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

        // The connection feature directly: ConnectionInfo would be allocated for a context that has none yet.
        var peer = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        var path = question is not null ? question.AsSpan() : request.Path.HasValue ? request.Path.Value.AsSpan() : "*".AsSpan();
        Record(door, peer, headers.UserAgent.Count == 0 ? default : headers.UserAgent[0].AsSpan(), path, shape, statusCode, role);
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
        // HealthKit's own start-up request to its liveness path is no prober.
        if (userAgent.StartsWith(SelfTest, StringComparison.Ordinal))
        {
            return;
        }

        userAgent = Bound(userAgent);
        path = Bound(path);
        var hash = HashCode.Combine(door, peer, string.GetHashCode(userAgent), string.GetHashCode(path));
        var now = _time.GetTimestamp();
        var failing = statusCode is < 200 or >= 400;
        ProberView? misdirected = null;
        lock (_lock)
        {
            var entry = Find(hash, door, peer, userAgent, path) ?? Admit(hash, door, peer, userAgent, path, shape, role, now);
            if (entry is null)
            {
                return;
            }

            if (entry.Count > 0)
            {
                var gap = now - entry.LastSeen;
                entry.IntervalTicks = entry.Count == 1 ? gap : ((entry.IntervalTicks * 3) + gap) / 4;
            }

            entry.Count++;
            entry.LastSeen = now;
            entry.LastStatus = statusCode;
            entry.ConsecutiveFailures = failing ? entry.ConsecutiveFailures + 1 : 0;
            if (!entry.Flagged && ProberWarnings.IsMisdirected(entry.Kind, statusCode))
            {
                entry.Flagged = true;
                misdirected = View(entry, now);
            }
        }

        if (misdirected is { } view)
        {
            _warnings.Misdirected(view, _paths.Readiness);
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
        var now = _time.GetTimestamp();
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

    private Entry? Find(int hash, ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path)
    {
        foreach (var entry in _entries)
        {
            if (entry is not null
                && entry.Hash == hash
                && entry.Door == door
                && Equals(entry.Peer, peer)
                && userAgent.SequenceEqual(entry.UserAgent)
                && path.SequenceEqual(entry.Path))
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>
    /// A place for a new identity: a free one; else the least recently seen of those not yet established; else the
    /// least recently seen of those that have stopped probing (three intervals and a minute). None: turned away.
    /// </summary>
    private Entry? Admit(int hash, ProberDoor door, IPAddress? peer, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> path, ProbeShape shape, ProberRole role, long now)
    {
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

            if (entry.Count < Established)
            {
                if (transient < 0 || entry.LastSeen < _entries[transient]!.LastSeen)
                {
                    transient = i;
                }
            }
            else if (_time.GetElapsedTime(entry.LastSeen, now) > (3 * new TimeSpan(ToTimeSpanTicks(entry.IntervalTicks))) + TimeSpan.FromMinutes(1)
                && (stale < 0 || entry.LastSeen < _entries[stale]!.LastSeen))
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
            Hash = hash,
            Door = door,
            Peer = peer,
            UserAgent = userAgent.ToString(),
            Path = path.ToString(),
            Kind = kind,
            Role = role,
        };
        _entries[slot] = created;
        return created;
    }

    private long ToTimeSpanTicks(long timestampTicks) => (long)(timestampTicks * ((double)TimeSpan.TicksPerSecond / _time.TimestampFrequency));

    private ProberView View(Entry entry, long now) => new(
        entry.Id,
        entry.Door,
        entry.Peer,
        entry.UserAgent,
        entry.Path,
        entry.Kind,
        entry.Role,
        entry.Count,
        new TimeSpan(ToTimeSpanTicks(entry.IntervalTicks)),
        _time.GetElapsedTime(entry.LastSeen, now),
        entry.LastStatus,
        entry.ConsecutiveFailures,
        Seconds(_createdWall + _time.GetElapsedTime(_createdAt, entry.LastSeen)));

    private static DateTimeOffset Seconds(DateTimeOffset at) => new(at.Ticks - (at.Ticks % TimeSpan.TicksPerSecond), at.Offset);

    private sealed class Entry
    {
        public long Id;
        public int Hash;
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
        public bool Flagged;
    }
}

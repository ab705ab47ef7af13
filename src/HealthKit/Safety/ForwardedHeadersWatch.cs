// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Safety;

/// <summary>
/// Notices forwarded requests (<c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>, or the names the app set in
/// <see cref="ForwardedHeadersOptions"/>) that the app then did not apply. Applied is judged by what the app's
/// pipeline did to the request (the header consumed, the remote address or the scheme changed), never by
/// <c>X-Original-*</c> headers, which any client can send. Behind a TLS-terminating balancer an ignored
/// <c>X-Forwarded-Proto</c> is the classic HTTPS redirect loop.
/// </summary>
/// <remarks>
/// The verdict must not be steerable by a client: only requests whose immediate peer could be a proxy (loopback, a
/// private or link-local network, a Unix socket, a peer the app lists in KnownProxies/KnownIPNetworks) are judged,
/// a finding needs <see cref="RequestsRequired"/> ignored requests over <see cref="ConnectionsRequired"/>
/// connections within <see cref="EvidenceLifetime"/>, and it ends once no ignored request has been seen for that long.
/// </remarks>
internal sealed partial class ForwardedHeadersWatch
{
    /// <summary>Ignored forwarded requests needed for a finding: one request proves nothing about a proxy.</summary>
    public const int RequestsRequired = 5;

    /// <summary>Distinct connections those requests must come over: a balancer opens several, one client one.</summary>
    public const int ConnectionsRequired = 3;

    /// <summary>How long evidence counts, and how long a finding lasts after the last ignored request.</summary>
    public static readonly TimeSpan EvidenceLifetime = TimeSpan.FromMinutes(15);

    // Every forwarded request of the first ones is judged, so a misconfigured proxy shows within its first requests;
    // afterwards one in SampleEvery keeps a finding alive (or raises one from a proxy added later) at a fraction of
    // the cost, since behind a balancer every request carries forwarded headers.
    private const uint RequestsWatchedInFull = 10_000;
    private const uint SampleEvery = 64;

    private readonly ILogger<ForwardedHeadersWatch> _logger;
    private readonly TimeProvider _time;
    private readonly string _forName;
    private readonly string _protoName;
    private readonly IList<IPAddress> _knownProxies;
    private readonly IList<System.Net.IPNetwork> _knownNetworks;

    private readonly Lock _gate = new();
    private readonly string?[] _connections = new string?[ConnectionsRequired];
    private long _windowStart;
    private int _ignored;
    private int _distinct;

    private uint _seen;
    private string? _finding;
    private long _lastEvidence;

    public ForwardedHeadersWatch(ILogger<ForwardedHeadersWatch> logger, TimeProvider time, IOptions<ForwardedHeadersOptions> options)
    {
        _logger = logger;
        _time = time;
        var forwarded = options.Value;
        _forName = forwarded.ForwardedForHeaderName;
        _protoName = forwarded.ForwardedProtoHeaderName;
        _knownProxies = forwarded.KnownProxies;
        _knownNetworks = forwarded.KnownIPNetworks;
    }

    /// <summary>The current finding, or null when no ignored forwarded request was seen within <see cref="EvidenceLifetime"/>.</summary>
    public string? Finding =>
        Volatile.Read(ref _finding) is { } finding && !Expired(_time.GetTimestamp()) ? finding : null;

    /// <summary>Whether this request is one to judge: it carries forwarded headers and falls in the sample.</summary>
    public bool ShouldObserve(HttpContext context)
    {
        // Unsynchronized on purpose: the sample only needs to be roughly right, and an interlocked add here would
        // cost every request. Wrapping around starts a full watch again, which is harmless.
        var seen = unchecked(++_seen);
        if (seen > RequestsWatchedInFull && seen % SampleEvery != 0)
        {
            return false;
        }

        var headers = context.Request.Headers;
        return headers.ContainsKey(_forName) || headers.ContainsKey(_protoName);
    }

    public Task ObserveAsync(HttpContext context, RequestDelegate next)
    {
        var remote = context.Connection.RemoteIpAddress;

        // A client that reaches the app from a public address directly is not a proxy: what it sends says nothing
        // about the app's proxy configuration, and counting it would let anyone on the internet set the verdict.
        if (!CouldBeProxy(remote))
        {
            return next(context);
        }

        var headers = context.Request.Headers;
        var forBefore = headers[_forName];
        var protoBefore = headers[_protoName];
        var schemeBefore = context.Request.Scheme;
        var pending = next(context);
        if (pending.IsCompletedSuccessfully)
        {
            Judge(context, remote, forBefore, protoBefore, schemeBefore);
            return Task.CompletedTask;
        }

        return AwaitAndJudgeAsync(pending, context, remote, forBefore, protoBefore, schemeBefore);
    }

    private async Task AwaitAndJudgeAsync(Task pending, HttpContext context, IPAddress? remote, StringValues forBefore, StringValues protoBefore, string schemeBefore)
    {
        await pending.ConfigureAwait(false);
        Judge(context, remote, forBefore, protoBefore, schemeBefore);
    }

    private void Judge(HttpContext context, IPAddress? remote, StringValues forBefore, StringValues protoBefore, string schemeBefore)
    {
        // ForwardedHeadersMiddleware consumes what it applies (removes the header or its last entries) and changes
        // the remote address or the scheme; an app's own handling changes at least one of those. Any of them means
        // the app processes forwarded headers from this sender.
        var headers = context.Request.Headers;
        var applied = (forBefore.Count > 0 && (!StringValues.Equals(forBefore, headers[_forName]) || !Equals(remote, context.Connection.RemoteIpAddress)))
            || (protoBefore.Count > 0 && (!StringValues.Equals(protoBefore, headers[_protoName]) || !string.Equals(schemeBefore, context.Request.Scheme, StringComparison.Ordinal)));
        if (!applied)
        {
            RecordIgnored(remote, context.Connection.Id);
        }
    }

    private void RecordIgnored(IPAddress? remote, string? connectionId)
    {
        var now = _time.GetTimestamp();
        if (Volatile.Read(ref _finding) is not null && !Expired(now))
        {
            // Behind a misconfigured balancer this is every sampled request: keep the finding alive without the lock.
            Volatile.Write(ref _lastEvidence, now);
            return;
        }

        string? established = null;
        string sender;
        lock (_gate)
        {
            if (_ignored == 0 || _time.GetElapsedTime(_windowStart, now) > EvidenceLifetime)
            {
                _windowStart = now;
                _ignored = 0;
                _distinct = 0;
            }

            _ignored++;
            if (_distinct < ConnectionsRequired && Array.IndexOf(_connections, connectionId, 0, _distinct) < 0)
            {
                _connections[_distinct++] = connectionId;
            }

            sender = remote is null ? "a local socket" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
            if (_ignored >= RequestsRequired && _distinct >= ConnectionsRequired)
            {
                established = $"Requests from {sender} carry {_forName}/{_protoName} that the app does not apply: call UseForwardedHeaders() with ForwardedHeadersOptions.ForwardedHeaders = XForwardedFor | XForwardedProto and add {sender} to KnownProxies (or its network to KnownIPNetworks). Otherwise UseHttpsRedirection redirects requests the balancer already received over HTTPS (a redirect loop) and links use http.";
                _ignored = 0;
                _distinct = 0;
                Volatile.Write(ref _lastEvidence, now);
                Volatile.Write(ref _finding, established);
            }
        }

        if (established is not null)
        {
            Log.Untrusted(_logger, sender, established);
        }
    }

    private bool Expired(long now) => _time.GetElapsedTime(Volatile.Read(ref _lastEvidence), now) > EvidenceLifetime;

    private bool CouldBeProxy(IPAddress? remote)
    {
        // No IP address: a Unix socket or a named pipe, so the sender is on this machine.
        if (remote is null)
        {
            return true;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!remote.TryWriteBytes(bytes, out var length))
        {
            return false;
        }

        if (length == 16 && remote.IsIPv4MappedToIPv6)
        {
            bytes = bytes[12..];
            length = 4;
        }

        var nearby = length == 4
            ? bytes[0] == 127 || bytes[0] == 10 || (bytes[0] == 172 && (bytes[1] & 0xF0) == 16) || (bytes[0] == 192 && bytes[1] == 168)
                || (bytes[0] == 169 && bytes[1] == 254) || (bytes[0] == 100 && (bytes[1] & 0xC0) == 64)
            : remote.AddressFamily == AddressFamily.InterNetworkV6
                && (IPAddress.IsLoopback(remote) || (bytes[0] & 0xFE) == 0xFC || (bytes[0] == 0xFE && (bytes[1] & 0xC0) == 0x80));
        return nearby || IsKnown(remote);
    }

    private bool IsKnown(IPAddress remote)
    {
        foreach (var proxy in _knownProxies)
        {
            if (proxy.Equals(remote))
            {
                return true;
            }
        }

        foreach (var network in _knownNetworks)
        {
            if (network.Contains(remote))
            {
                return true;
            }
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, EventName = "ForwardedHeadersNotApplied", Level = LogLevel.Warning, Message = "Forwarded headers from {Sender} are ignored. {Finding}")]
        public static partial void Untrusted(ILogger logger, string sender, string finding);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Safety;

/// <summary>
/// Notices forwarded requests (<c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>, or the names the app set in
/// <see cref="ForwardedHeadersOptions"/>) from a proxy the app itself declared that the app then did not apply.
/// Applied is judged by what the app's pipeline did to the request (the header consumed, the remote address or the
/// scheme changed), never by <c>X-Original-*</c> headers, which any client can send. Behind a TLS-terminating
/// balancer an ignored <c>X-Forwarded-Proto</c> is the classic HTTPS redirect loop.
/// </summary>
/// <remarks>
/// A finding that an anonymous client can cause is not one: a client behind a layer-4 balancer, a SNAT'd path, a
/// Kubernetes service or a same-host proxy that passes its headers through reaches the app from a private or loopback
/// address with whatever headers it wrote. So only what a misconfigured proxy produces is evidence: well-formed
/// forwarded headers (an IP address last in X-Forwarded-For, http or https last in X-Forwarded-Proto) on requests
/// whose immediate peer the app declared in KnownProxies/KnownIPNetworks (not the framework's loopback defaults),
/// which the app then did not apply. Either the app does not process them (no UseForwardedHeaders, the flags left at
/// None) or the declared proxy passes its clients' headers through; both are the pair's misconfiguration. A finding
/// also needs <see cref="RequestsRequired"/> such requests over <see cref="ConnectionsRequired"/> connections within
/// <see cref="EvidenceLifetime"/>, and it ends once none has been seen for that long. Forwarded headers from any
/// other peer are never a finding; the first is logged once (Information) as a hint.
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
    private readonly List<IPAddress> _declaredProxies = [];
    private readonly List<System.Net.IPNetwork> _declaredNetworks = [];

    private readonly Lock _gate = new();
    private readonly string?[] _connections = new string?[ConnectionsRequired];
    private long _windowStart;
    private int _ignored;
    private int _distinct;

    private uint _seen;
    private int _hinted;
    private string? _finding;
    private long _lastEvidence;

    public ForwardedHeadersWatch(ILogger<ForwardedHeadersWatch> logger, TimeProvider time, IOptions<ForwardedHeadersOptions> options)
    {
        _logger = logger;
        _time = time;
        var forwarded = options.Value;
        _forName = forwarded.ForwardedForHeaderName;
        _protoName = forwarded.ForwardedProtoHeaderName;

        // The framework's defaults (::1 and 127.0.0.0/8) are in every app's options whether or not a proxy exists.
        foreach (var proxy in forwarded.KnownProxies)
        {
            if (!proxy.Equals(IPAddress.IPv6Loopback))
            {
                _declaredProxies.Add(proxy);
            }
        }

        foreach (var network in forwarded.KnownIPNetworks)
        {
            if (!network.Equals(new System.Net.IPNetwork(IPAddress.Loopback, 8)))
            {
                _declaredNetworks.Add(network);
            }
        }
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

        // Only a proxy the app declared can show the app misconfigured; anyone else's forwarded headers may be a
        // client's own, passed through by something in between, and a client must not set the verdict.
        if (!IsDeclaredProxy(remote))
        {
            if (Volatile.Read(ref _hinted) == 0 && Interlocked.Exchange(ref _hinted, 1) == 0)
            {
                Log.UndeclaredSender(_logger, Describe(remote), _forName, _protoName);
            }

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
        if (!WellFormed(forBefore, protoBefore))
        {
            // Not what a proxy writes (a proxy appends an address, a scheme): a client's, passed through.
            return;
        }

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

            sender = Describe(remote);
            if (_ignored >= RequestsRequired && _distinct >= ConnectionsRequired)
            {
                established = $"Requests from {sender}, a proxy in the app's KnownProxies/KnownIPNetworks, carry {_forName}/{_protoName} that the app does not apply: call UseForwardedHeaders() early in the pipeline with ForwardedHeadersOptions.ForwardedHeaders = XForwardedFor | XForwardedProto (the options the watch reads, not options passed to UseForwardedHeaders only). Otherwise UseHttpsRedirection redirects requests the balancer already received over HTTPS (a redirect loop) and links use http. If the app applies them on purpose elsewhere, the proxy forwards its clients' own headers: make it overwrite them.";
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

    private static string Describe(IPAddress? remote) =>
        remote is null ? "a local socket" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();

    /// <summary>The last value of each header present is one a proxy writes: an address, a scheme.</summary>
    private static bool WellFormed(StringValues forValues, StringValues protoValues)
    {
        if (forValues.Count > 0 && !IPEndPoint.TryParse(Last(forValues), out _))
        {
            return false;
        }

        if (protoValues.Count > 0)
        {
            var proto = Last(protoValues);
            if (!proto.Equals("https", StringComparison.OrdinalIgnoreCase) && !proto.Equals("http", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<char> Last(StringValues values)
    {
        var value = values[values.Count - 1].AsSpan();
        var comma = value.LastIndexOf(',');
        return (comma < 0 ? value : value[(comma + 1)..]).Trim();
    }

    private bool IsDeclaredProxy(IPAddress? remote)
    {
        // No IP address (a Unix socket, a named pipe): nothing the app could have declared.
        if (remote is null)
        {
            return false;
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        foreach (var proxy in _declaredProxies)
        {
            if (proxy.Equals(remote) || (proxy.IsIPv4MappedToIPv6 && proxy.MapToIPv4().Equals(remote)))
            {
                return true;
            }
        }

        foreach (var network in _declaredNetworks)
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

        [LoggerMessage(EventId = 401, EventName = "ForwardedHeadersFromUndeclaredPeer", Level = LogLevel.Information,
            Message = "A request from {Sender} carried {ForName}/{ProtoName}, and that peer is not in the app's KnownProxies/KnownIPNetworks: HealthKit cannot tell a proxy's headers from a client's there, so forwarded_headers does not judge them. If that peer is your proxy, declare it and call UseForwardedHeaders(). Logged once.")]
        public static partial void UndeclaredSender(ILogger logger, string sender, string forName, string protoName);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HealthKit.Safety;

/// <summary>
/// Notices requests that carry <c>X-Forwarded-Proto</c> or <c>X-Forwarded-For</c> which the app then did not apply:
/// ForwardedHeadersMiddleware records the originals in <c>X-Original-*</c> headers when it applies them, so their
/// absence after the pipeline means the middleware is missing, not configured for those headers, or does not trust
/// the sender. Behind a TLS-terminating balancer that is the classic HTTPS redirect loop. Only the first forwarded
/// request is judged (within the first requests of the process), so the finding is logged once and afterwards
/// non-probe requests pay one field read.
/// </summary>
internal sealed partial class ForwardedHeadersWatch(ILogger<ForwardedHeadersWatch> logger)
{
    // A misconfigured proxy shows on the first requests it forwards; an app that gets no forwarded request in its
    // first requests is not behind one. Past either point the hot path pays a single field read.
    private const int RequestsWatched = 10_000;

    private volatile bool _done;
    private int _seen;
    private string? _finding;

    public bool Watching => !_done;

    public string? Finding => Volatile.Read(ref _finding);

    /// <summary>Whether this request is one to judge: it carries forwarded headers and watching is still on.</summary>
    public bool ShouldObserve(IHeaderDictionary headers)
    {
        // Unsynchronized on purpose: the bound only needs to be roughly right, and a lock here would cost every request.
        if (++_seen > RequestsWatched)
        {
            _done = true;
            return false;
        }

        return headers.ContainsKey("X-Forwarded-Proto") || headers.ContainsKey("X-Forwarded-For");
    }

    public async Task ObserveAsync(HttpContext context, RequestDelegate next)
    {
        var remote = context.Connection.RemoteIpAddress;
        await next(context).ConfigureAwait(false);

        // The first forwarded request decides: applied means the app is configured for its proxy.
        _done = true;
        var headers = context.Request.Headers;
        if (Volatile.Read(ref _finding) is not null || headers.ContainsKey("X-Original-Proto") || headers.ContainsKey("X-Original-For"))
        {
            return;
        }

        var sender = remote is null ? "an unknown address" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
        var finding = $"Requests from {sender} carry X-Forwarded-Proto/X-Forwarded-For that the app does not apply: call UseForwardedHeaders() with ForwardedHeadersOptions.ForwardedHeaders = XForwardedFor | XForwardedProto and add {sender} to KnownProxies (or its network to KnownNetworks). Otherwise UseHttpsRedirection redirects requests the balancer already received over HTTPS (a redirect loop) and links use http.";
        if (Interlocked.CompareExchange(ref _finding, finding, null) is null)
        {
            Log.Untrusted(logger, sender, finding);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, EventName = "ForwardedHeadersNotApplied", Level = LogLevel.Warning, Message = "Forwarded headers from {Sender} are ignored. {Finding}")]
        public static partial void Untrusted(ILogger logger, string sender, string finding);
    }
}

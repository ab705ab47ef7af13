// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Diagnostics;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Http;

/// <summary>
/// Serves the status page at <c>{Path}/ui</c>. Unlike the probes it is a page for people, not a balancer's request,
/// so it is answered at the end of the app's pipeline, where the app would answer 404: the request has met the app's
/// host filtering, forwarded headers, HTTPS redirection, authentication, authorization (a fallback policy included)
/// and rate limiting, as any page does. A challenge it issues builds its Location from a Host that host filtering
/// accepted and a scheme that HTTPS redirection enforced. When the app answers the path itself (a fallback route, a
/// terminal middleware) the app's answer stands.
/// </summary>
internal sealed partial class StatusPageMiddleware
{
    private const string Page = "ui";

    private readonly RequestDelegate _next;
    private readonly ProbeRoute _paths;
    private readonly HealthVerdict _verdict;
    private readonly DetailsAccess _details;
    private readonly HealthKitMetrics _metrics;
    private readonly HealthDocumentWriter _document;
    private readonly ILogger<StatusPageMiddleware> _logger;

    public StatusPageMiddleware(RequestDelegate next, ProbeRoute paths, HealthVerdict verdict, DetailsAccess details, HealthKitMetrics metrics, HealthDocumentWriter document, ILogger<StatusPageMiddleware> logger)
    {
        _document = document;
        _next = next;
        _paths = paths;
        _verdict = verdict;
        _details = details;
        _metrics = metrics;
        _logger = logger;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (_paths.Match(context.Request.Path) != ProbeKind.StatusPage)
        {
            return _next(context);
        }

        if (!ProbeMethod.IsPageMethod(context.Request.Method))
        {
            ProbeAnswers.WriteMethodNotAllowed(context, statusPage: true);
            _metrics.RecordProbe(Page, StatusCodes.Status405MethodNotAllowed);
            return Task.CompletedTask;
        }

        return RenderAsync(context);
    }

    private async Task RenderAsync(HttpContext context)
    {
        var decision = await DecideAsync(context).ConfigureAwait(false);
        if (decision != DetailsDecision.Allowed)
        {
            context.Response.Headers.CacheControl = "no-store";
            if (_details.HasPolicy)
            {
                // A person at a browser: the challenge or forbid of the policy's schemes, as the app's own
                // authorization middleware would answer (a redirect to its login page, a Bearer 401).
                await _details.RefuseAsync(context, authenticated: decision == DetailsDecision.Forbidden).ConfigureAwait(false);
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }

            _metrics.RecordProbe(Page, context.Response.StatusCode);
            return;
        }

        var verdict = await _verdict.ReadinessAsync().ConfigureAwait(false);
        _metrics.RecordProbe(Page, StatusCodes.Status200OK);
        var title = context.Request.Host.HasValue ? "Health · " + context.Request.Host.Host : "Health";
        await ProbeAnswers.WriteBodyAsync(context, StatusCodes.Status200OK, StatusPage.Render(verdict, title, _document), StatusPage.ContentType).ConfigureAwait(false);
    }

    private async ValueTask<DetailsDecision> DecideAsync(HttpContext context)
    {
        try
        {
            return await _details.DecideAsync(context).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // An authentication handler's failure must not turn the page into a 500: the caller is anonymous.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.StatusPageAuthorizationFailed(_logger, exception);
            return DetailsDecision.Anonymous;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, EventName = "StatusPageAuthorizationFailed", Level = LogLevel.Warning,
            Message = "Evaluating DeployHealth:DetailsPolicy for the status page failed; the caller gets the anonymous answer.")]
        public static partial void StatusPageAuthorizationFailed(ILogger logger, Exception exception);
    }
}

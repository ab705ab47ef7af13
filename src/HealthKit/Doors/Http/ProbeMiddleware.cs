// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using HealthKit.Diagnostics;
using HealthKit.Output;
using HealthKit.Probing;
using HealthKit.Verdict;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace HealthKit.Doors.Http;

/// <summary>
/// The first middleware of the application: answers the probe paths itself and hands every other request to the
/// app's pipeline untouched. It is not built with Map or endpoint routing, because the point is to answer before
/// host filtering, HTTPS redirection, authentication and routing ever see the request.
/// </summary>
internal sealed partial class ProbeMiddleware
{
    private const string Ready = "ready";
    private const string Live = "live";

    private readonly RequestDelegate _next;
    private readonly ProbeRoute _route;
    private readonly IServiceProvider _services;
    private readonly ProberLedger _balancers;
    private Answering? _answering;
    private readonly ILogger<ProbeMiddleware> _logger;

    public ProbeMiddleware(
        RequestDelegate next,
        ProbeRoute route,
        IServiceProvider services,
        ProberLedger balancers,
        ILogger<ProbeMiddleware> logger)
    {
        _balancers = balancers;
        _next = next;
        _route = route;
        _services = services;
        _logger = logger;
    }

    public Task InvokeAsync(HttpContext context)
    {
        // Read once: every request that is not a probe pays this method, so each feature lookup counts.
        var path = context.Request.Path;
        var kind = _route.Match(path);

        // The status page is for people: it goes through the app's pipeline (host filtering, HTTPS redirection,
        // authorization) like any page, and StatusPageMiddleware answers it at the pipeline's end.
        if (kind is ProbeKind.None or ProbeKind.StatusPage)
        {
            // Only the asterisk form ("OPTIONS * HTTP/1.x", Apache's hcmethod=OPTIONS) has an empty path, so ordinary
            // requests pay one length check here.
            if (!path.HasValue && IsServerWideOptions(context))
            {
                ProbeTelemetry.Exclude(context);
                return ReadinessAsync(context);
            }

            _balancers.ObserveRequest(context);
            return _next(context);
        }

        ProbeTelemetry.Exclude(context);

        var verb = ProbeMethod.Parse(context.Request.Method);
        if (ProbeRoute.Refusal(kind, verb, asterisk: false) == ProbeRefusal.MethodNotAllowed)
        {
            ProbeAnswers.WriteMethodNotAllowed(context);
            Parts.Metrics.RecordProbe(ProbeRoute.EndpointName(kind), StatusCodes.Status405MethodNotAllowed);
            _balancers.Record(ProberDoor.Http, context, StatusCodes.Status405MethodNotAllowed, kind == ProbeKind.Liveness ? ProberRole.Liveness : ProberRole.Readiness);
            return Task.CompletedTask;
        }

        switch (kind)
        {
            case ProbeKind.Liveness:
                // Waits like readiness does when the app's live-tagged checks must be evaluated; completes at once
                // when there are none.
                var liveness = Parts.Verdict.LivenessAsync();
                return liveness.IsCompletedSuccessfully ? WriteLivenessAsync(context, liveness.Result) : AwaitAndWriteLivenessAsync(context, liveness);
        }

        if (Parts.Details.Enabled && verb != ProbeVerb.Options)
        {
            return DetailedReadinessAsync(context);
        }

        return ReadinessAsync(context);
    }

    /// <summary>
    /// What answers a probe: built at the first probe rather than with the pipeline, so the app's start does not pay
    /// for the verdict's graph (evaluators, gates, judges). Two first probes at once may both resolve; the container
    /// hands both the same singletons.
    /// </summary>
    private Answering Parts => _answering ??= new Answering(
        _services.GetRequiredService<HealthVerdict>(),
        _services.GetRequiredService<DetailsAccess>(),
        _services.GetRequiredService<HealthDocumentWriter>(),
        _services.GetRequiredService<HealthKitMetrics>());

    private static bool IsServerWideOptions(HttpContext context) =>
        ProbeMethod.Parse(context.Request.Method) == ProbeVerb.Options
        && context.Features.Get<IHttpRequestFeature>()?.RawTarget == "*";

    private Task ReadinessAsync(HttpContext context)
    {
        var pending = Parts.Verdict.ReadinessAsync();
        return pending.IsCompletedSuccessfully
            ? WriteReadinessAsync(context, pending.Result.Status)
            : AwaitAndWriteAsync(context, pending);
    }

    private Task WriteLivenessAsync(HttpContext context, ProbeVerdict verdict)
    {
        Parts.Metrics.RecordProbe(Live, verdict.HttpStatusCode);
        _balancers.Record(ProberDoor.Http, context, verdict.HttpStatusCode, ProberRole.Liveness);
        return ProbeAnswers.WriteAsync(context, verdict.Status);
    }

    private async Task AwaitAndWriteLivenessAsync(HttpContext context, ValueTask<ProbeVerdict> pending)
    {
        var verdict = await pending.ConfigureAwait(false);
        await WriteLivenessAsync(context, verdict).ConfigureAwait(false);
    }

    private Task WriteReadinessAsync(HttpContext context, HealthStatus status)
    {
        var statusCode = status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        Parts.Metrics.RecordProbe(Ready, statusCode);
        _balancers.Record(ProberDoor.Http, context, statusCode, ProberRole.Readiness);
        return ProbeAnswers.WriteAsync(context, status);
    }

    private async Task AwaitAndWriteAsync(HttpContext context, ValueTask<ProbeVerdict> pending)
    {
        var verdict = await pending.ConfigureAwait(false);
        await WriteReadinessAsync(context, verdict.Status).ConfigureAwait(false);
    }

    private async Task DetailedReadinessAsync(HttpContext context)
    {
        var decision = await DecideAsync(context).ConfigureAwait(false);
        var verdict = await Parts.Verdict.ReadinessAsync().ConfigureAwait(false);
        if (decision != DetailsDecision.Allowed || ProbeAnswers.WantsPlainText(context.Request.Headers.Accept))
        {
            await WriteReadinessAsync(context, verdict.Status).ConfigureAwait(false);
            return;
        }

        Parts.Metrics.RecordProbe(Ready, verdict.HttpStatusCode);
        await ProbeAnswers.WriteBodyAsync(context, verdict.HttpStatusCode, Parts.Document.Write(verdict), ProbeAnswers.HealthJson).ConfigureAwait(false);
    }

    private async ValueTask<DetailsDecision> DecideAsync(HttpContext context)
    {
        try
        {
            return await Parts.Details.DecideAsync(context).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // An authentication handler's failure must not turn a probe into a 500: the caller is anonymous.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.DetailsAuthorizationFailed(_logger, exception);
            return DetailsDecision.Anonymous;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 50, EventName = "DetailsAuthorizationFailed", Level = LogLevel.Warning,
            Message = "Evaluating DeployHealth:DetailsPolicy failed; the caller gets the anonymous answer.")]
        public static partial void DetailsAuthorizationFailed(ILogger logger, Exception exception);
    }

    private sealed record Answering(HealthVerdict Verdict, DetailsAccess Details, HealthDocumentWriter Document, HealthKitMetrics Metrics);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using HealthKit.Output;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Probing;

/// <summary>
/// The first middleware of the application: answers the probe paths itself and hands every other request to the
/// app's pipeline untouched. It is not built with Map or endpoint routing, because the point is to answer before
/// host filtering, HTTPS redirection, authentication and routing ever see the request.
/// </summary>
internal sealed class ProbeMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ProbePaths _paths;
    private readonly HealthEvaluator _evaluator;
    private readonly DeployState _state;

    public ProbeMiddleware(RequestDelegate next, ProbePaths paths, HealthEvaluator evaluator, DeployState state)
    {
        _next = next;
        _paths = paths;
        _evaluator = evaluator;
        _state = state;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var kind = _paths.Match(context.Request.Path);
        if (kind == ProbeKind.None)
        {
            return _next(context);
        }

        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            ProbeResponse.WriteMethodNotAllowed(context);
            return Task.CompletedTask;
        }

        if (kind == ProbeKind.Liveness)
        {
            return ProbeResponse.WriteAsync(context, HealthStatus.Healthy);
        }

        if (_state.NotReadyReason is not null)
        {
            return ProbeResponse.WriteAsync(context, HealthStatus.Unhealthy);
        }

        var pending = _evaluator.GetAsync();
        return pending.IsCompletedSuccessfully
            ? ProbeResponse.WriteAsync(context, pending.Result.Status)
            : AwaitAndWriteAsync(context, pending);
    }

    private static async Task AwaitAndWriteAsync(HttpContext context, ValueTask<HealthSnapshot> pending)
    {
        var snapshot = await pending.ConfigureAwait(false);
        await ProbeResponse.WriteAsync(context, snapshot.Status).ConfigureAwait(false);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Smoke;

/// <summary>
/// Renders one page through the application's own pipeline, in-process and without a socket, the way a user's
/// browser would reach it: GET over https, with the first concrete AllowedHosts name as Host and a loopback remote
/// address, so host filtering, HTTPS redirection and HSTS let it through as they would a real user. A missing view, a
/// bad registration or a configuration value read at render time fails readiness before users see the page.
/// </summary>
internal sealed class SmokePageHealthCheck(
    string path,
    SmokePageOptions options,
    SmokePageState state,
    AppPipeline pipeline,
    SmokeHost host,
    IHttpContextFactory contextFactory,
    IServiceProvider services,
    SmokeRenderLogs logs,
    TimeProvider time) : IHealthCheck
{
    /// <summary>What the description of a render cut off at the page's timeout says, whether this render's or an earlier one's.</summary>
    internal const string DidNotFinish = "did not finish within";

    private readonly SmokeRenderFeature _render = new(path);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failureStatus = context.Registration.FailureStatus;
        if (pipeline.Next is not { } next)
        {
            return new HealthCheckResult(failureStatus, $"GET {path}: the application's pipeline is not built yet.");
        }

        Task<HealthCheckResult> render;
        CancellationTokenSource aborted;
        bool earlier;
        lock (state)
        {
            // One render per page at a time: a slow page is waited for again, never rendered on top of itself.
            earlier = state.Render is { IsCompleted: false };
            if (!earlier)
            {
                state.Aborted?.Dispose();
                state.Aborted = new CancellationTokenSource();

                // The render is a request of its own: it must not run in the evaluation's ExecutionContext, and what
                // it sets there (IHttpContextAccessor's value) must not flow back.
                using (ExecutionContext.SuppressFlow())
                {
                    var token = state.Aborted.Token;
                    state.Render = Task.Run(() => RenderToEndAsync(next, failureStatus, token), CancellationToken.None);
                }
            }

            render = state.Render!;
            aborted = state.Aborted!;
        }

        try
        {
            return await render.WaitAsync(options.Timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException && !render.IsCompleted)
        {
            try
            {
                await aborted.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The render finished and a newer one replaced its token source in the meantime.
            }

            return TimedOut(failureStatus, earlier);
        }
    }

    private HealthCheckResult TimedOut(HealthStatus failureStatus, bool earlier) => new(
        failureStatus,
        string.Format(
            CultureInfo.InvariantCulture,
            earlier ? "GET {0} is still running from an earlier render; it " + DidNotFinish + " {1:0} ms." : "GET {0} " + DidNotFinish + " {1:0} ms; the request was aborted.",
            path,
            options.Timeout.TotalMilliseconds));

    /// <summary>Runs the page to its end, however long it takes, then judges it and releases the request.</summary>
    private async Task<HealthCheckResult> RenderToEndAsync(RequestDelegate next, HealthStatus failureStatus, CancellationToken aborted)
    {
        // What the app logs while rendering (its exception handler's stack, every evaluation) stays out of its logs;
        // the evaluator's transition line reports the failure once.
        logs.BeginRender();
        var response = new SmokeResponseFeature();
        var httpContext = contextFactory.Create(CreateFeatures(response, aborted));
        var started = time.GetTimestamp();
        Exception? error = null;
        try
        {
            if (options.Principal is { } principal)
            {
                httpContext.User = principal(services);
            }

            await next(httpContext).ConfigureAwait(false);
            await response.CompleteAsync().ConfigureAwait(false);

            // The app's exception handler (UseExceptionHandler("/Error"), as the templates have it in Production)
            // caught what the page threw and answered its error page: the exception it left on the request is what
            // failed, not the error page's 500.
            error = httpContext.Features.Get<IExceptionHandlerFeature>()?.Error?.GetBaseException();
        }
#pragma warning disable CA1031 // Whatever the page throws is the check's finding, not HealthKit's failure.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            error = exception.GetBaseException();
        }

        try
        {
            // A render this check aborted ends however the page reacts to the abort (often TaskCanceledException);
            // an evaluation that joins it late must still read the timeout, not the page's reaction to it.
            return aborted.IsCancellationRequested
                ? TimedOut(failureStatus, earlier: false)
                : Judge(response, error, time.GetElapsedTime(started), failureStatus);
        }
        finally
        {
            await CleanUpAsync(response, httpContext).ConfigureAwait(false);
        }
    }

    private HealthCheckResult Judge(SmokeResponseFeature response, Exception? error, TimeSpan elapsed, HealthStatus failureStatus)
    {
        var status = response.StatusCode;
        var ms = elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
        var data = new Dictionary<string, object> { ["path"] = path, ["statusCode"] = status, ["bytes"] = response.BytesWritten };

        // A page that wrote its headers and then threw still says 200: the exception decides.
        if (error is not null)
        {
            return new HealthCheckResult(failureStatus, $"GET {path} → {status}, threw {error.GetType().Name}: {FirstLine(error.Message)}", data: data);
        }

        var expected = options.ExpectedStatus is { } wanted ? status == wanted : status is >= 200 and < 300;
        if (!expected)
        {
            var location = response.Headers.Location.ToString();
            var what = options.ExpectedStatus is { } e ? e.ToString(CultureInfo.InvariantCulture) : "2xx";
            return new HealthCheckResult(
                failureStatus,
                $"GET {path} → {status} in {ms} ms, expected {what}" + (location.Length > 0 ? $" (Location: {location})" : string.Empty),
                data: data);
        }

        if (options.ExpectedText is { } text && !Encoding.UTF8.GetString(response.Captured).Contains(text, StringComparison.Ordinal))
        {
            return new HealthCheckResult(failureStatus, $"GET {path} → {status} in {ms} ms, but the page does not contain the expected text.", data: data);
        }

        return HealthCheckResult.Healthy($"GET {path} → {status} in {ms} ms.", data);
    }

    private async Task CleanUpAsync(SmokeResponseFeature response, HttpContext httpContext)
    {
        try
        {
            await response.FireCompletedAsync().ConfigureAwait(false);
        }
        finally
        {
            contextFactory.Dispose(httpContext);
        }
    }

    private FeatureCollection CreateFeatures(SmokeResponseFeature response, CancellationToken aborted)
    {
        var queryStart = path.IndexOf('?', StringComparison.Ordinal);
        var request = new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Method = HttpMethods.Get,
            Scheme = "https",
            PathBase = string.Empty,
            Path = queryStart < 0 ? path : path[..queryStart],
            QueryString = queryStart < 0 ? string.Empty : path[queryStart..],
            RawTarget = path,
            Body = Stream.Null,
        };
        request.Headers.Host = host.Name;
        request.Headers.Accept = "text/html,application/xhtml+xml,*/*;q=0.8";
        request.Headers.UserAgent = "HealthKit-Smoke/1.0";

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(response);
        features.Set<IHttpResponseBodyFeature>(response);
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = "healthkit-smoke",
            RemoteIpAddress = IPAddress.Loopback,
            LocalIpAddress = IPAddress.Loopback,
            LocalPort = 443,
        });
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = aborted });

        // How the page knows it is a smoke render and skips its side effects; a client's request cannot carry it.
        features.Set(_render);
        return features;
    }

    private static string FirstLine(string text)
    {
        var end = text.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? text : text[..end];
    }
}

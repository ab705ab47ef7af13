// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HealthKit.Diagnostics;

/// <summary>
/// Keeps a request answered as a probe out of the app's own telemetry: the balancer's traffic is not the users'.
/// HealthKit counts probes itself (<c>healthkit.probes</c>); the server's request-duration metric and the app's traces
/// would otherwise gain one entry per probe, from every balancer and every zone.
/// </summary>
internal static class ProbeTelemetry
{
    /// <summary>
    /// Removes the request from <c>http.server.request.duration</c> and marks its hosting <see cref="Activity"/> not
    /// recorded. Hosting starts that Activity before any middleware runs, so it exists already; clearing
    /// <see cref="Activity.IsAllDataRequested"/> and the <see cref="ActivityTraceFlags.Recorded"/> flag is what
    /// OpenTelemetry's own request filter does: its listener exports nothing for such an Activity when it stops, and a
    /// parent-based sampler (the default) samples nothing started under it, such as the checks a probe evaluates.
    /// </summary>
    public static void Exclude(HttpContext context)
    {
        var features = context.Features;
        if (features.Get<IHttpMetricsTagsFeature>() is { } metrics)
        {
            metrics.MetricsDisabled = true;
        }

        if (features.Get<IHttpActivityFeature>()?.Activity is { } activity)
        {
            activity.IsAllDataRequested = false;
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }
}

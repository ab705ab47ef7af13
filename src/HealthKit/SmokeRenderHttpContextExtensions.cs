// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Smoke;
using Microsoft.AspNetCore.Http;

namespace HealthKit;

/// <summary>Tells a page whether it is rendered by HealthKit's smoke check rather than requested by a client.</summary>
public static class SmokeRenderHttpContextExtensions
{
    /// <summary>
    /// Gets whether <paramref name="context"/> is one of HealthKit's in-process smoke renders (see
    /// <see cref="DeployHealthBuilder.AddSmokePage(string, Action{SmokePageOptions}?)"/>). A smoke page is rendered on
    /// each readiness evaluation, so whatever it writes is written again every few seconds on every instance: a page
    /// uses this to skip side effects (starting a session, writing to a store, sending a message). HealthKit marks its
    /// render with a request feature that only the server sets, so nothing a client sends, no header or user agent,
    /// makes this true.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns><see langword="true"/> for a smoke render; <see langword="false"/> for every request from a client.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static bool IsSmokeRender(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<SmokeRenderFeature>() is not null;
    }
}

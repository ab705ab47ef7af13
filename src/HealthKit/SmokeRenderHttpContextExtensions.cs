// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;

namespace HealthKit;

/// <summary>Tells a page whether it is rendered by HealthKit's smoke check rather than requested by a client.</summary>
public static class SmokeRenderHttpContextExtensions
{
    /// <summary>
    /// Gets whether <paramref name="context"/> is one of HealthKit's in-process smoke renders, that is whether its
    /// features hold an <see cref="ISmokeRenderFeature"/>. A page uses it to skip side effects (starting a session,
    /// writing to a store, sending a message) that must not repeat on every readiness evaluation.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns><see langword="true"/> for a smoke render; <see langword="false"/> for every request from a client.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static bool IsSmokeRender(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<ISmokeRenderFeature>() is not null;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;

namespace HealthKit.Safety;

/// <summary>
/// Behind the probe door, in front of the app: lets <see cref="ForwardedHeadersWatch"/> see what the app's own
/// forwarded-headers handling made of a request from a proxy. Requests it has no reason to look at pass untouched.
/// </summary>
internal sealed class ForwardedHeadersWatchMiddleware(RequestDelegate next, ForwardedHeadersWatch watch)
{
    public Task InvokeAsync(HttpContext context) =>
        watch.ShouldObserve(context) ? watch.ObserveAsync(context, next) : next(context);
}

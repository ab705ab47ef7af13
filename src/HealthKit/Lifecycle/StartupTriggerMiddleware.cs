// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;

namespace HealthKit.Lifecycle;

/// <summary>
/// Behind the probe door: the first request that is not a probe starts HealthKit's start-up work once the app has
/// answered it (<see cref="StartupWork"/>). After that, one volatile read per request.
/// </summary>
internal sealed class StartupTriggerMiddleware(RequestDelegate next, StartupWork startup)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (startup.IsPending)
        {
            startup.OnRequest(context);
        }

        return next(context);
    }
}

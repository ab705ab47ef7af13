// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Diagnostics;

namespace HealthKit.Smoke;

/// <summary>
/// The developer exception page (which <c>WebApplication</c> adds in Development) catches what a page throws and
/// answers its own 500, leaving nothing on the request to say why. On a smoke render only, this leaves the exception
/// where <c>UseExceptionHandler</c> leaves it (<see cref="IExceptionHandlerFeature"/>), so the check reports the
/// exception's type and first line in Development as in Production. Every other request passes through untouched.
/// </summary>
internal sealed class SmokeRenderExceptionFilter : IDeveloperPageExceptionFilter
{
    public Task HandleExceptionAsync(ErrorContext errorContext, Func<ErrorContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(errorContext);
        ArgumentNullException.ThrowIfNull(next);
        var features = errorContext.HttpContext.Features;
        if (features.Get<SmokeRenderFeature>() is not null && features.Get<IExceptionHandlerFeature>() is null)
        {
            features.Set<IExceptionHandlerFeature>(new ExceptionHandlerFeature
            {
                Error = errorContext.Exception,
                Path = errorContext.HttpContext.Request.Path.Value ?? "/",
            });
        }

        return next(errorContext);
    }
}

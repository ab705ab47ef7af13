// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;

namespace HealthKit.Smoke;

/// <summary>
/// The application's request pipeline as HealthKit's first middleware sees it (host filtering, HTTPS redirection,
/// authentication, routing and the app's endpoints), captured when the pipeline is built so smoke renders go
/// through exactly what a user's request goes through.
/// </summary>
internal sealed class AppPipeline
{
    private volatile RequestDelegate? _next;

    public RequestDelegate? Next => _next;

    public void Capture(RequestDelegate next) => _next = next;
}

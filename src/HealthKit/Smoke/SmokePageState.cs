// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Smoke;

/// <summary>The render of one page that may still be running, shared by every evaluation of that page.</summary>
internal sealed class SmokePageState
{
    public Task<HealthCheckResult>? Render { get; set; }

    public CancellationTokenSource? Aborted { get; set; }
}

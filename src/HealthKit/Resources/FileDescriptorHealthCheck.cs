// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>
/// Open descriptors (/proc/self/fd) against the process's soft <c>RLIMIT_NOFILE</c>, on Linux. Past the limit every
/// accept, outgoing connection and file open fails with "too many open files" while the probe, on a connection already
/// open, may still pass; a leak (sockets never disposed, <c>new HttpClient()</c> per request) shows here first.
/// </summary>
internal sealed class FileDescriptorHealthCheck(IOptions<DeployHealthOptions> options) : IHealthCheck
{
    private int _previous;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (ResourceInterop.OpenFileLimit() is not { } limit || limit <= 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No open-file limit to compare with."));
        }

        if (ResourceInterop.OpenFileCount() is not { } open)
        {
            return Task.FromResult(HealthCheckResult.Healthy("/proc/self/fd cannot be read."));
        }

        var settings = options.Value.Resources;
        var percent = open * 100.0 / limit;
        var level = ResourceRules.JudgeUsed(percent, settings.FileDescriptorWarnPercent, settings.FileDescriptorFailPercent, (ResourceLevel)Volatile.Read(ref _previous));
        Volatile.Write(ref _previous, (int)level);
        var description = string.Create(
            CultureInfo.InvariantCulture,
            $"{open} of {limit} file descriptors open ({percent:0}%); warn at {settings.FileDescriptorWarnPercent}%, fail at {settings.FileDescriptorFailPercent}%.");
        return Task.FromResult(new HealthCheckResult(ResourceRules.ToStatus(level, context.Registration.FailureStatus), description));
    }
}

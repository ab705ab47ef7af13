// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Hosting;

namespace HealthKit.Lifecycle;

/// <summary>
/// A start-up report that looks at the running host once, after it has started (the server listens, endpoints are
/// built) and with HealthKit's other start-up work (<see cref="StartupWork"/>), on a thread-pool thread; it does
/// nothing at any other point of the host's life.
/// </summary>
internal abstract class StartedReport(StartupWork startup) : IHostedLifecycleService
{
    private readonly TaskCompletionSource _reported = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _report;

    /// <summary>Gets a task that completes once the report has looked at the host, so a test can wait for it.</summary>
    internal Task Reported => _reported.Task;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _report = startup.Begun.UnsafeRegister(static s => ((StartedReport)s!).ReportOnce(), this);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _report.Dispose();
        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void ReportOnce()
    {
        try
        {
            Report();
        }
        finally
        {
            _reported.TrySetResult();
        }
    }

    /// <summary>Looks at the started host and logs what it finds.</summary>
    protected abstract void Report();
}

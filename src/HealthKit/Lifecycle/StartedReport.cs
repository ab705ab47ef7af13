// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Lifecycle;

/// <summary>
/// A start-up report that looks at the running host once, with HealthKit's other start-up work
/// (<see cref="StartupWork"/>: the server listens, endpoints are built), on a thread-pool thread. Built and run by
/// <see cref="StartupReports"/> only then; it does nothing at any other point of the host's life.
/// </summary>
internal abstract class StartedReport
{
    private readonly TaskCompletionSource _reported = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets a task that completes once the report has looked at the host, so a test can wait for it.</summary>
    internal Task Reported => _reported.Task;

    /// <summary>Looks at the host once and logs what it finds.</summary>
    internal void ReportOnce()
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

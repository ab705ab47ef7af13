// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// The one hosted service behind HealthKit's start-up log entries: the start-up report, the warnings that read the
/// running host (<see cref="StartedReport"/>: the connection door, HTTP/2-only endpoints, shadowed endpoints) and the
/// self-test. At start it only checks what must stop the start (a details policy that does not exist); the reports
/// are built and run with HealthKit's other start-up work (<see cref="StartupWork"/>), never on the start path.
/// </summary>
internal sealed class StartupReports(
    StartupWork startup,
    ProbeSelfTest selfTest,
    IServiceProvider services,
    IOptions<DeployHealthOptions> options) : IHostedService
{
    private CancellationTokenRegistration _reports;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await StartupReport.RequireDetailsPolicyAsync(services, options.Value).ConfigureAwait(false);
        selfTest.Start();
        _reports = startup.Begun.UnsafeRegister(static s => ((StartupReports)s!).Report(), this);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _reports.Dispose();
        await selfTest.StopAsync().ConfigureAwait(false);
    }

    private void Report()
    {
        // Each report runs whatever the others do; StartupWork logs what failed.
        List<Exception>? failures = null;
        foreach (var report in services.GetServices<StartedReport>())
        {
            try
            {
                report.ReportOnce();
            }
#pragma warning disable CA1031 // Rethrown together below, once every report has run.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                (failures ??= []).Add(exception);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException(failures);
        }
    }
}

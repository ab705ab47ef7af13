// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Hosting;

namespace HealthKit.Doors.Command;

/// <summary>
/// The host's lifetime when the process was started as <c>dotnet app.dll --health-probe</c>: the first thing the
/// host runs when it starts (before startup validation, before any hosted service, before the server binds), it sends
/// the probe and ends the process with the probe's exit code. Nothing of the app starts, no port is bound.
/// </summary>
/// <remarks>
/// Ending the process here rather than stopping the host: the host's start cannot end early without an exception
/// (<c>Host.StartAsync</c> throws once stopping has been requested, which an app's <c>Run()</c> would turn into an
/// unhandled-exception exit), and stopping after the hosted services had started would run the app's own
/// (migrations, queue consumers) inside a probe. Registered in place of the console lifetime, which is not there to
/// wait on a process exit.
/// </remarks>
internal sealed class ProbeCommandLifetime(Uri target) : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        var exitCode = ProbeCommand.Run(target, Console.Out);
        Console.Out.Flush();
        Environment.Exit(exitCode);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

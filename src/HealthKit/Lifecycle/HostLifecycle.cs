// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// Marks the instance started once the host has started, begins the warm-up's clock (<see cref="WarmUp"/>) and lets
/// HealthKit's start-up work begin once the app has answered its first request (<see cref="StartupWork"/>). On shutdown, holds it while readiness answers 503 and every other request
/// is still served, so balancers stop sending traffic before the server stops: until the balancers have let go
/// (<see cref="BalancerDrain"/>), or for <see cref="DeployHealthDrainOptions.Delay"/> when that is set. The delay sits in
/// <see cref="IHostedLifecycleService.StoppingAsync"/>: hosted services stop in reverse order and Kestrel's is
/// registered last, so a delay in an ordinary <c>StopAsync</c> would run after the server had stopped accepting
/// requests. <c>HostOptions.ShutdownTimeout</c> is extended by the delay so the drain does not eat the host's own.
/// </summary>
internal sealed partial class HostLifecycle(
    DeployState state,
    WarmUp warmUp,
    StartupWork startup,
    BalancerDrain balancers,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    ILogger<HostLifecycle> logger) : IHostedLifecycleService
{
    private readonly Lock _gate = new();
    private Task? _drain;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        state.MarkStopping();
        startup.Dispose();

        // A host may be stopped twice (StopAsync, then again when RunAsync ends or the host is disposed by a test
        // harness): the second stop joins the first drain instead of holding the server for another delay.
        lock (_gate)
        {
            return _drain ??= DrainAsync(cancellationToken);
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Drain.DelayIsSet)
        {
            await balancers.RunAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var delay = options.Value.Drain.Delay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        Log.Draining(logger, delay.TotalMilliseconds);
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first: stop now rather than be killed mid-request.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        state.MarkStarted();
        warmUp.Begin();
        startup.HostStarted();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, EventName = "Draining", Level = LogLevel.Information,
            Message = "Shutting down: readiness answers 503 (draining) and requests are still served for {DrainMs} ms before the server stops.")]
        public static partial void Draining(ILogger logger, double drainMs);
    }
}

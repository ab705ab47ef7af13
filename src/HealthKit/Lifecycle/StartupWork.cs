// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HealthKit.Lifecycle;

/// <summary>
/// When HealthKit's own start-up work runs: the warm-up's evaluations, the self-test, the start-up log entries. Not
/// inside the host's start and not beside the app's first request, which would pay for HealthKit's work (its code
/// compiled, its checks run) on two shared cores: <see cref="Begun"/> fires once the app has answered its first
/// request, once a probe asks (a probe needs the evaluation anyway), or <see cref="QuietStart"/> after the host has
/// started when nobody asked anything, whichever comes first. A host without an HTTP server (a worker) has no first
/// request to wait for: there it fires when the host has started.
/// </summary>
/// <remarks>
/// <see cref="Begun"/> is a cancellation token used as a one-shot event, like <c>IHostApplicationLifetime.ApplicationStarted</c>:
/// a registration after it fired runs at once, and disposing a registration says whether its callback ran. The
/// callbacks run on a thread-pool thread, never on a request's.
/// </remarks>
internal sealed partial class StartupWork : IDisposable
{
    /// <summary>How long after start HealthKit waits for a first request before it begins its work anyway.</summary>
    internal static readonly TimeSpan QuietStart = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _begun = new();
    private readonly TimeProvider _time;
    private readonly bool _hasHttpServer;
    private readonly ILogger<StartupWork> _logger;
    private int _watching;
    private int _fired;
    private ITimer? _quiet;

    public StartupWork(TimeProvider time, RegisteredServices registered, ILogger<StartupWork> logger)
    {
        _time = time;
        _logger = logger;
        _hasHttpServer = registered.HasHttpServer;
    }

    /// <summary>Gets the token that fires when HealthKit's start-up work may begin.</summary>
    public CancellationToken Begun => _begun.Token;

    /// <summary>Gets whether <see cref="Begun"/> has not fired yet: the one read the request path pays.</summary>
    public bool IsPending => Volatile.Read(ref _fired) == 0;

    /// <summary>Called when the host has started: arms the quiet-start timer, or fires at once in a host without a server.</summary>
    public void HostStarted()
    {
        if (!_hasHttpServer)
        {
            Fire();
            return;
        }

        using (ExecutionContext.SuppressFlow())
        {
            _quiet = _time.CreateTimer(static s => ((StartupWork)s!).Fire(), this, QuietStart, Timeout.InfiniteTimeSpan);
        }

        if (!IsPending)
        {
            // Fired between the check above and the timer's creation: nothing left for it to do.
            _quiet.Dispose();
        }
    }

    /// <summary>A request that is not a probe arrived: the work begins once the app has answered it.</summary>
    public void OnRequest(HttpContext context)
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
        {
            context.Response.OnCompleted(static s =>
            {
                ((StartupWork)s).Fire();
                return Task.CompletedTask;
            }, this);
        }
    }

    /// <summary>A probe arrived (at any door): it needs the evaluation now, so nothing is held back any longer.</summary>
    public void OnProbe() => Fire();

    /// <summary>The host is stopping: start-up work that has not begun never will.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _fired, 1);
        _quiet?.Dispose();
    }

    private void Fire()
    {
        if (Interlocked.Exchange(ref _fired, 1) != 0)
        {
            return;
        }

        _quiet?.Dispose();

        // The callbacks run on the thread that cancels: never a request's, and never the timer's caller's stack.
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.Begin(), this, preferLocal: false);
    }

    private void Begin()
    {
        try
        {
            _begun.Cancel();
        }
        catch (AggregateException exception)
        {
            // A report that throws must not take the process down with it, nor stop the others (every callback runs).
            Log.Failed(_logger, exception.GetBaseException());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 132, EventName = "StartupWorkFailed", Level = LogLevel.Warning,
            Message = "Part of HealthKit's start-up work failed; probes are answered as before.")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Output;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Fleet;

/// <summary>
/// Publishes this instance to the fleet board after every evaluation, and at least every
/// <see cref="DeployHealthFleetOptions.Interval"/> (evaluating then if no probe did), reading the whole board in the
/// same round trip; the picture it reads is what the fleet judge and the fleet check decide from. Off the probe path:
/// a probe never waits for Redis. On a graceful stop the entry is removed so the others stop counting it at once.
/// </summary>
internal sealed partial class FleetService(
    IServiceProvider services,
    FleetView view,
    FleetMetrics metrics,
    HealthEvaluator evaluator,
    HealthVerdict verdict,
    VerdictSignal signal,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    ILogger<FleetService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly DeployHealthOptions _settings = options.Value;
    private readonly FleetEntry _entry = new();
    private readonly Lock _gate = new();

    // The last exchanges: when each finished (TimeProvider timestamp) and Redis's clock in it, so an evaluation can be
    // placed on Redis's clock without reading this machine's wall clock against another's. Used on the loop only.
    private readonly long[] _finished = new long[ExchangeHistory];
    private readonly long[] _redisAt = new long[ExchangeHistory];
    private int _exchanges;
    private FleetPicture.SelfReport? _report;
    private bool _lost;
    private bool _full;
    private ITimer? _graceTimer;
    private Task? _loop;
    private FleetBoard? _board;
    private FleetFacts _facts = null!;

    /// <summary>How many exchanges are remembered: at the shortest interval, longer than any evaluation may run.</summary>
    private const int ExchangeHistory = 64;

    // Not a BackgroundService: with the fleet view off there is no loop at all, and the background-services check
    // must not see a service that "finished while the host runs".
    // The board is resolved only when the fleet view is on: it holds StackExchange.Redis types, and an app without the
    // fleet view (most without Redis at all) must not load that assembly. The facts too: reading the build, hashing the
    // configuration and looking for Data Protection are start-up work an app without the fleet view never needs.
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_settings.Fleet.Enabled)
        {
            _board = services.GetRequiredService<FleetBoard>();
            _facts = services.GetRequiredService<FleetFacts>();
            _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await _board!.LeaveAsync(_facts.Id, timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Leaving is a courtesy: the entry ages out by its time to live anyway.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _graceTimer?.Dispose();
            _graceTimer = null;
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var fleet = _settings.Fleet;

        Log.FleetStarted(logger, _board!.Name, _facts.Id, fleet.MaxEjectedPercent);
        HealthSnapshot? published = null;
        long lastExchange = -1;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the state is read, so an evaluation that finishes meanwhile still wakes the loop.
            var changed = signal.GetChangeToken();
            var due = lastExchange < 0 || time.GetElapsedTime(lastExchange) >= fleet.Interval;
            var snapshot = evaluator.Last;
            try
            {
                if (snapshot is null || (due && ReferenceEquals(snapshot, published)))
                {
                    snapshot = await evaluator.GetAsync().AsTask().WaitAsync(stoppingToken).ConfigureAwait(false);
                }

                if (!ReferenceEquals(snapshot, published) || due)
                {
                    await ExchangeAsync(snapshot, stoppingToken).ConfigureAwait(false);
                    published = snapshot;
                    lastExchange = time.GetTimestamp();
                }

                await WaitAsync(changed, fleet.Interval - time.GetElapsedTime(lastExchange), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ExchangeAsync(HealthSnapshot snapshot, CancellationToken stoppingToken)
    {
        var fleet = _settings.Fleet;
        var started = time.GetTimestamp();
        try
        {
            var current = verdict.Readiness();
            _entry.Sequence++;
            _entry.Ready = HealthDocumentWriter.Word(current.Status);
            _entry.Reason = HealthDocumentWriter.Note(current) is { } note ? FleetFacts.Truncate(note, FleetFacts.MaxReasonLength) : null;
            _facts.Describe(_entry, snapshot, _settings);
            var floor = FloorOf(snapshot);
            _entry.EvaluationFloor = floor;
            _entry.Clock = time.GetUtcNow().ToUnixTimeMilliseconds();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(_settings.CheckDeadline);
            var read = await _board!.ExchangeAsync(_entry, timeout.Token).ConfigureAwait(false);
            var finished = time.GetTimestamp();
            _finished[_exchanges % ExchangeHistory] = finished;
            _redisAt[_exchanges % ExchangeHistory] = read.RedisNow;
            _exchanges++;
            _report = Report(snapshot, floor, read.RedisNow);

            // Since when each peer's status has been seen carries over only from an unbroken run of reads: after the
            // board was lost, a peer may have failed and recovered unseen.
            var picture = new FleetPicture(_facts.Id, read, finished, time.GetUtcNow(), _lost ? null : view.Last, _report);
            metrics.RecordExchange(time.GetElapsedTime(started), read.Bytes);
            lock (_gate)
            {
                view.Update(picture);
                _graceTimer?.Dispose();
                _graceTimer = null;
                if (_lost)
                {
                    _lost = false;
                    Log.BoardRestored(logger, _board!.Name, picture.Live);
                }
            }

            if (read.Full != _full)
            {
                _full = read.Full;
                if (_full)
                {
                    Log.BoardFull(logger, _board!.Name, fleet.MaxInstances);
                }
            }
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is not OutOfMemoryException)
        {
            metrics.RecordExchangeFailure();
            var error = exception is OperationCanceledException ? $"no answer within {_settings.CheckDeadline.TotalMilliseconds:0} ms" : exception.GetBaseException().Message;
            lock (_gate)
            {
                view.Lost(error);
                if (!_lost)
                {
                    _lost = true;
                    Log.BoardLost(logger, _board!.Name, error, fleet.BoardLossTolerance.TotalSeconds);

                    // The grace period counts from the last read. A timer, not the loop, ends it: an exchange can take
                    // up to its deadline, and the decision must change when the period ends, not when Redis answers.
                    // Before the first read there is no picture to give up: the instance judges alone from the start.
                    if (view.Last is { } last)
                    {
                        var left = fleet.BoardLossTolerance - time.GetElapsedTime(last.ReadAt);
                        _graceTimer = time.CreateTimer(static state => ((FleetService)state!).GiveUp(), this, left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                    }
                }
            }
        }

        // The judge reads the new picture on the next probe; doors that push (gRPC Watch) read it now.
        signal.Notify();
    }

    /// <summary>
    /// Redis's time at the last exchange that had finished when <paramref name="snapshot"/>'s evaluation began: the
    /// evaluation began after it, on Redis's clock. 0 when no remembered exchange is that old.
    /// </summary>
    private long FloorOf(HealthSnapshot snapshot)
    {
        var began = snapshot.Timestamp - (long)(snapshot.Report.TotalDuration.TotalSeconds * time.TimestampFrequency);
        var oldest = Math.Max(0, _exchanges - ExchangeHistory);
        for (var i = _exchanges - 1; i >= oldest; i--)
        {
            if (_finished[i % ExchangeHistory] <= began)
            {
                return _redisAt[i % ExchangeHistory];
            }
        }

        return 0;
    }

    /// <summary>
    /// What this exchange published for the judge: per check failing in <paramref name="snapshot"/>, Redis's time at
    /// the first exchange that published the current failure (kept from the last report while the failure is the same
    /// one, by its transition time).
    /// </summary>
    private FleetPicture.SelfReport Report(HealthSnapshot snapshot, long floor, long redisNow)
    {
        var last = _report;
        var failures = new Dictionary<string, FleetPicture.PublishedFailure>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, check) in snapshot.Report.Entries)
        {
            if (check.Status != HealthStatus.Unhealthy)
            {
                continue;
            }

            var since = snapshot.Transitions.TryGetValue(name, out var transition) ? transition : snapshot.EvaluatedAt;
            failures[name] = last is not null && last.Failures.TryGetValue(name, out var earlier) && earlier.Since == since
                ? earlier
                : new FleetPicture.PublishedFailure(since, redisNow);
        }

        return new FleetPicture.SelfReport(snapshot, floor, failures);
    }

    private void GiveUp()
    {
        lock (_gate)
        {
            if (!_lost || view.GivenUp)
            {
                return;
            }

            // Logged before the picture is dropped: every probe answered before this entry still had the fleet's view.
            Log.JudgingAlone(logger, _board!.Name, _settings.Fleet.BoardLossTolerance.TotalSeconds);
            view.GiveUp();
        }

        signal.Notify();
    }

    private async Task WaitAsync(IChangeToken changed, TimeSpan delay, CancellationToken stoppingToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = changed.RegisterChangeCallback(static state => ((TaskCompletionSource)state!).TrySetResult(), woken);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delayed = Task.Delay(delay, time, wait.Token);
        await Task.WhenAny(woken.Task, delayed).ConfigureAwait(false);
        await wait.CancelAsync().ConfigureAwait(false);
        stoppingToken.ThrowIfCancellationRequested();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 260, EventName = "FleetStarted", Level = LogLevel.Information,
            Message = "Fleet view on: instance {InstanceId} publishes to the board of fleet '{Fleet}'; a Shared failure ejects while at most {MaxEjectedPercent}% of the fleet fails it.")]
        public static partial void FleetStarted(ILogger logger, string fleet, string instanceId, int maxEjectedPercent);

        [LoggerMessage(EventId = 261, EventName = "FleetBoardLost", Level = LogLevel.Warning,
            Message = "The board of fleet '{Fleet}' cannot be read ({Error}); the last fleet picture decides for {GraceSeconds} s (DeployHealth:Fleet:BoardLossTolerance), then this instance judges alone.")]
        public static partial void BoardLost(ILogger logger, string fleet, string error, double graceSeconds);

        [LoggerMessage(EventId = 262, EventName = "FleetBoardRestored", Level = LogLevel.Information,
            Message = "The board of fleet '{Fleet}' is read again: {Live} live instances.")]
        public static partial void BoardRestored(ILogger logger, string fleet, int live);

        [LoggerMessage(EventId = 263, EventName = "FleetJudgingAlone", Level = LogLevel.Warning,
            Message = "The board of fleet '{Fleet}' has not been read for {GraceSeconds} s: this instance judges its checks alone (every Unhealthy check takes it out of rotation) until the board is read again.")]
        public static partial void JudgingAlone(ILogger logger, string fleet, double graceSeconds);

        [LoggerMessage(EventId = 264, EventName = "FleetBoardFull", Level = LogLevel.Warning,
            Message = "The board of fleet '{Fleet}' holds DeployHealth:Fleet:MaxInstances ({MaxInstances}) instances: this one is not on it and judges from the others' entries.")]
        public static partial void BoardFull(ILogger logger, string fleet, int maxInstances);
    }
}

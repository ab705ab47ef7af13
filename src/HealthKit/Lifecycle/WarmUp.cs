// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Smoke;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// The warm-up after start. What the first evaluation must build (EF Core's model and migration list, the first
/// pooled connection, each smoke page's first render) is built right after the host has started, by evaluations run in
/// the background, one after another, until one finishes with every check within its deadline. Until then, and for at
/// most <see cref="DeployHealthStartupOptions.WarmUpLimit"/> after start, a result in which a check ran out of its
/// deadline reads as "starting": a cold start is not a failing dependency, and a balancer told "starting" keeps the
/// instance out just the same. A check that answers within its deadline, passing or failing (connection refused,
/// pending migrations), ends the warm-up: a real failure is reported at once. An evaluation that passed but in which a
/// check used more than a quarter of its deadline was most likely the one that built what the check needs (EF Core's
/// model takes most of a 2 s deadline cold): it reads as "starting" too, and the next evaluation, run at once,
/// decides. Readiness is then first answered from an evaluation that found everything built.
/// </summary>
/// <remarks>
/// A readiness judge rather than a gate: a door that can wait still joins the running evaluation and answers from it
/// when every check was warm, so a fast app is ready with its first evaluation, as before. Once the warm-up is over the
/// judge costs one volatile read per probe.
/// </remarks>
internal sealed partial class WarmUp(
    HealthEvaluator evaluator,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    VerdictSignal signal,
    StartupWork startup,
    ILogger<WarmUp> logger) : IReadinessJudge, IDisposable
{
    /// <summary>The reason readiness gives while the warm-up runs, the same as before the host has started.</summary>
    public const string Starting = "starting";

    // Rounds whose checks all ran out of very short deadlines are spaced out: the cold check still runs meanwhile.
    private static readonly TimeSpan MinimumRound = TimeSpan.FromMilliseconds(100);

    // More than this share of a deadline in the first evaluation that passes: the build, not the check, took the time.
    private const double ColdShare = 0.25;

    private readonly TimeSpan _allowance = options.Value.Startup.WarmUpLimit;
    private HealthSnapshot? _building;
    private long _began = -1;
    private int _done;
    private ITimer? _allowanceEnd;
    private CancellationTokenRegistration _run;

    /// <summary>Gets whether the warm-up is over: every check warm, or the allowance spent.</summary>
    public bool IsDone => Volatile.Read(ref _done) != 0;

    public HealthStatus Judge(HealthSnapshot snapshot, HealthStatus status, out VerdictReason cause, out string? reason)
    {
        cause = VerdictReason.None;
        reason = null;
        if (Volatile.Read(ref _done) != 0)
        {
            return status;
        }

        var began = Interlocked.Read(ref _began);
        if (began < 0)
        {
            // Not started (a host that never ran, a test's container): the deploy state says "starting" if anything.
            return status;
        }

        if (IsCold(snapshot))
        {
            if (time.GetElapsedTime(began) >= _allowance)
            {
                Finish(snapshot, began, allowanceSpent: true);
                return status;
            }
        }
        else if (!IsBuilding(snapshot))
        {
            Finish(snapshot, began, allowanceSpent: false);
            return status;
        }

        cause = VerdictReason.Starting;
        reason = Starting;
        return HealthStatus.Unhealthy;
    }

    /// <summary>
    /// Starts the warm-up's clock, once, when the host has started (the pipeline smoke pages render through is built);
    /// its evaluations begin with HealthKit's start-up work (<see cref="StartupWork"/>), or with the first probe's.
    /// </summary>
    public void Begin()
    {
        if (Interlocked.CompareExchange(ref _began, time.GetTimestamp(), -1) != -1)
        {
            return;
        }

        if (_allowance <= TimeSpan.Zero)
        {
            // Warm-up off: the first evaluation still runs right away, and readiness follows whatever it says.
            Volatile.Write(ref _done, 1);
            _run = startup.Begun.UnsafeRegister(static s => _ = ((HealthEvaluator)s!).EvaluateNowAsync(), evaluator);
            return;
        }

        // Neither the timer nor the loop may carry the start's ExecutionContext into every later evaluation.
        using (ExecutionContext.SuppressFlow())
        {
            // At the allowance's end the verdict changes without an evaluation: doors that push (gRPC Watch) hear it.
            _allowanceEnd = time.CreateTimer(static s => ((WarmUp)s!).OnAllowanceEnd(), this, _allowance, Timeout.InfiniteTimeSpan);
            _run = startup.Begun.UnsafeRegister(static s => _ = Task.Run(((WarmUp)s!).RunAsync, CancellationToken.None), this);
        }
    }

    public void Dispose()
    {
        Volatile.Write(ref _done, 1);
        _run.Dispose();
        _allowanceEnd?.Dispose();
    }

    /// <summary>
    /// Whether a check of <paramref name="snapshot"/> ran out of its deadline (the evaluator's) or its render timeout
    /// (a smoke page's): what a cold first build looks like, as opposed to a check that answered.
    /// </summary>
    internal static bool IsCold(HealthSnapshot snapshot)
    {
        foreach (var entry in snapshot.Report.Entries.Values)
        {
            if (IsCold(entry))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsCold(HealthReportEntry entry) =>
        entry.Status == HealthStatus.Unhealthy
        && entry.Description is { } description
        && (description.StartsWith(HealthEvaluator.TimedOutPrefix, StringComparison.Ordinal)
            || (entry.Tags.Contains("smoke") && description.Contains(SmokePageHealthCheck.DidNotFinish, StringComparison.Ordinal)));

    /// <summary>
    /// Whether <paramref name="snapshot"/> is the warm-up's one evaluation that passed slowly (see the summary): the
    /// first such evaluation is remembered, so that every door judging it reads "starting" and any later one decides.
    /// </summary>
    private bool IsBuilding(HealthSnapshot snapshot)
    {
        if (Volatile.Read(ref _building) is { } building)
        {
            return ReferenceEquals(building, snapshot);
        }

        if (snapshot.Status == HealthStatus.Unhealthy || !HasSlowCheck(snapshot))
        {
            return false;
        }

        return ReferenceEquals(Interlocked.CompareExchange(ref _building, snapshot, null) ?? snapshot, snapshot);
    }

    private bool HasSlowCheck(HealthSnapshot snapshot)
    {
        foreach (var (name, entry) in snapshot.Report.Entries)
        {
            if (entry.Duration > evaluator.DeadlineOf(name) * ColdShare)
            {
                return true;
            }
        }

        return false;
    }

    private async Task RunAsync()
    {
        while (Volatile.Read(ref _done) == 0)
        {
            var round = time.GetTimestamp();
            var snapshot = await evaluator.EvaluateNowAsync().ConfigureAwait(false);

            // The same judgement a probe makes: it ends the warm-up when every check was warm or the allowance is spent.
            Judge(snapshot, snapshot.Status, out _, out _);
            if (Volatile.Read(ref _done) == 0 && time.GetElapsedTime(round) < MinimumRound)
            {
                await Task.Delay(MinimumRound, time).ConfigureAwait(false);
            }
        }
    }

    private void OnAllowanceEnd()
    {
        var began = Interlocked.Read(ref _began);
        if (Volatile.Read(ref _done) == 0 && began >= 0)
        {
            Finish(evaluator.Last, began, allowanceSpent: true);
        }
    }

    private void Finish(HealthSnapshot? snapshot, long began, bool allowanceSpent)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        if (allowanceSpent)
        {
            Log.AllowanceSpent(logger, _allowance.TotalMilliseconds, ColdChecks(snapshot));
        }
        else
        {
            Log.Warm(logger, time.GetElapsedTime(began).TotalMilliseconds);
        }

        _allowanceEnd?.Dispose();
        signal.Notify();
    }

    private static string ColdChecks(HealthSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return "no evaluation finished";
        }

        var names = new List<string>();
        foreach (var (name, entry) in snapshot.Report.Entries)
        {
            if (IsCold(entry))
            {
                names.Add($"'{name}'");
            }
        }

        return names.Count == 0 ? "none still cold" : string.Join(", ", names);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 130, EventName = "WarmUpFinished", Level = LogLevel.Information,
            Message = "Warm-up finished {ElapsedMs:0} ms after start: every check answered within its deadline; readiness follows the checks now.")]
        public static partial void Warm(ILogger logger, double elapsedMs);

        [LoggerMessage(EventId = 131, EventName = "WarmUpAllowanceSpent", Level = LogLevel.Warning,
            Message = "Checks still ran out of their deadlines {AllowanceMs:0} ms after start (DeployHealth:Startup:WarmUpLimit): {Checks}. Readiness follows the checks now and reports them as failing.")]
        public static partial void AllowanceSpent(ILogger logger, double allowanceMs, string checks);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// One evaluation while it runs: a slot per check, the checks not yet claimed, the cancellation of each deadline, and
/// the result the callers wait for. As a thread-pool work item it starts the checks not yet claimed.
/// </summary>
internal sealed class RunningEvaluation : IThreadPoolWorkItem
{
    public RunningEvaluation(CheckRunner runner, EvaluationPlan plan, long started)
    {
        Runner = runner;
        Plan = plan;
        Started = started;
        Slots = new Slot[plan.Checks.Length];
        Remaining = Slots.Length;
        Cancellations = new CancellationTokenSource[plan.Deadlines.Length];
        for (var i = 0; i < Cancellations.Length; i++)
        {
            // No timer inside: the watchdog cancels it. Never disposed, as a hung check may still hold its token;
            // without a timer or a wait handle there is nothing to release.
            Cancellations[i] = new CancellationTokenSource();
        }
    }

    public CheckRunner Runner { get; }

    public EvaluationPlan Plan { get; }

    /// <summary>Gets the timestamp every deadline counts from.</summary>
    public long Started { get; }

    public Slot[] Slots { get; }

    public CancellationTokenSource[] Cancellations { get; }

    public TaskCompletionSource<HealthSnapshot> Completion { get; } = new();

#pragma warning disable SA1401, CA1051 // Updated with Interlocked.
    public int Next;

    public int Remaining;

    public int Finished;
#pragma warning restore SA1401, CA1051

    void IThreadPoolWorkItem.Execute() => Runner.Drive(this);

    /// <summary>One check within one evaluation; its fields are updated with Interlocked where threads meet.</summary>
    internal struct Slot
    {
        public const int Waiting = 0;
        public const int Running = 1;
        public const int Done = 2;

#pragma warning disable CA1051 // A mutable slot in an array, updated in place.
        public int Phase;

        /// <summary>1 while the evaluation's thread is inside the check's synchronous part.</summary>
        public int InCall;

        public int Rescued;

        /// <summary>Waits for a run an earlier evaluation started and that outlived its deadline.</summary>
        public bool Joined;

        /// <summary>Holds the check's last result, still within its interval, instead of a run of its own.</summary>
        public bool Reused;

        public long Started;

        /// <summary>The timestamp at which <see cref="Entry"/> was produced.</summary>
        public long RecordedAt;

        public HealthReportEntry Entry;
#pragma warning restore CA1051
    }
}

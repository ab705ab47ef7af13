// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// What makes one evaluator instance readiness' or liveness': which of the registry's lists it evaluates, which
/// transition events it logs, and whether it counts in the metrics. The evaluator itself never asks which one it is.
/// </summary>
internal sealed class CheckSet
{
    private CheckSet(string name, Func<HealthKitRegistry, IReadOnlyList<HealthCheckRegistration>> select, TransitionObserver.Events events, bool countsInMetrics)
    {
        Name = name;
        Select = select;
        Events = events;
        CountsInMetrics = countsInMetrics;
    }

    /// <summary>Gets every check of the app and HealthKit's own (<see cref="HealthKitRegistry.Readiness"/>), logged as events 100 and 101.</summary>
    public static CheckSet Readiness { get; } = new("readiness", static r => r.Readiness, TransitionObserver.Events.Readiness, countsInMetrics: true);

    /// <summary>Gets the app's <c>live</c>-tagged checks only (<see cref="HealthKitRegistry.Liveness"/>), logged as events 110 and 111.</summary>
    public static CheckSet Liveness { get; } = new("liveness", static r => r.Liveness, TransitionObserver.Events.Liveness, countsInMetrics: false);

    public string Name { get; }

    public Func<HealthKitRegistry, IReadOnlyList<HealthCheckRegistration>> Select { get; }

    public TransitionObserver.Events Events { get; }

    /// <summary>Gets a value indicating whether this set's evaluations, results and cache hits are counted in the metrics.</summary>
    public bool CountsInMetrics { get; }

    public override string ToString() => Name;
}

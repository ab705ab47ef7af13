// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Evaluation;

/// <summary>
/// What every evaluation needs about the registrations, worked out once (they are fixed once the registry is built):
/// which checks run, each one's deadline and interval, and the distinct deadlines (one cancellation source each).
/// </summary>
internal sealed record EvaluationPlan(
    IReadOnlyCollection<HealthCheckRegistration> Source,
    int SourceCount,
    PlannedCheck[] Checks,
    TimeSpan[] Deadlines,
    TimeSpan FirstWatch,
    TimeSpan LongestDeadline)
{
    /// <summary>The deadline of one check: its HealthKit setting, else its registration's timeout, else the default.</summary>
    public static TimeSpan DeadlineOf(HealthCheckRegistration registration, DeployHealthOptions options)
    {
        if (options.GetCheck(registration.Name)?.Deadline is { } configured)
        {
            return configured;
        }

        return registration.Timeout > TimeSpan.Zero ? registration.Timeout : options.CheckDeadline;
    }

    /// <summary>
    /// How long one check's result is reused: its HealthKit setting, else the <see cref="HealthCheckRegistration.Period"/>
    /// its registration sets, else <see langword="null"/> (it runs in every evaluation). Configuration wins, as it does
    /// for the deadline, so an operator can change an app's or HealthKit's choice without a build.
    /// </summary>
    public static TimeSpan? IntervalOf(HealthCheckRegistration registration, DeployHealthOptions options)
    {
        if (options.GetCheck(registration.Name)?.Interval is { } configured)
        {
            return configured;
        }

        return registration.Period is { } period && period > TimeSpan.Zero ? period : null;
    }

    /// <summary>Returns <paramref name="current"/> while it still describes <paramref name="registrations"/>, else a new plan.</summary>
    public static EvaluationPlan For(
        EvaluationPlan? current, IReadOnlyList<HealthCheckRegistration> registrations, DeployHealthOptions options, Func<string, CheckState> stateOf)
    {
        if (current is not null && ReferenceEquals(current.Source, registrations) && current.SourceCount == registrations.Count)
        {
            return current;
        }

        var checks = new List<PlannedCheck>(registrations.Count);
        var deadlines = new List<TimeSpan>(1);
        foreach (var registration in registrations)
        {
            var settings = options.GetCheck(registration.Name);
            if (settings is { Enabled: false })
            {
                continue;
            }

            var deadline = DeadlineOf(registration, options);
            var group = deadlines.IndexOf(deadline);
            if (group < 0)
            {
                group = deadlines.Count;
                deadlines.Add(deadline);
            }

            checks.Add(new PlannedCheck(registration, stateOf(registration.Name), settings, deadline, group, IntervalOf(registration, options)));
        }

        var first = CheckRunner.StallThreshold;
        var longest = TimeSpan.Zero;
        foreach (var deadline in deadlines)
        {
            first = deadline < first ? deadline : first;
            longest = deadline > longest ? deadline : longest;
        }

        return new EvaluationPlan(registrations, registrations.Count, [.. checks], [.. deadlines], first, longest);
    }
}

/// <summary>One check as every evaluation runs it; <see cref="Group"/> is the index of its deadline's cancellation source.</summary>
internal sealed record PlannedCheck(
    HealthCheckRegistration Registration, CheckState State, DeployHealthCheckOptions? Options, TimeSpan Deadline, int Group, TimeSpan? Interval);

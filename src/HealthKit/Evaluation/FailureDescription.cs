// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;

namespace HealthKit.Evaluation;

/// <summary>
/// The words an operator reads for a check that did not pass by itself: an exception turned into one sentence, a check
/// cut off at its deadline, one cancelled there, and a result too old to trust. They appear in the details document,
/// the transition logs and the agent's reason, so they say what happened, never how HealthKit noticed.
/// </summary>
internal static class FailureDescription
{
    /// <summary>How the description of a check cut off at its deadline begins (the warm-up recognises it).</summary>
    public const string TimedOutPrefix = "Timed out after ";

    public const string Cancelled = "Cancelled at its deadline.";

    /// <summary>
    /// The description of a failed check: the outermost message that says something (wrappers that only point at
    /// their inner exception, such as EF Core's retry strategy or a TargetInvocationException, are skipped), with the
    /// root cause after it when that says something else. Npgsql's "Couldn't set max pool size" stays in front of the
    /// dictionary lookup that caused it; "Failed to connect to 10.0.0.5:5432" keeps its "Connection refused".
    /// </summary>
    public static string Describe(Exception? exception)
    {
        if (exception is null)
        {
            return "The check failed without an exception.";
        }

        var outer = exception;
        while (outer.InnerException is { } inner && IsWrapper(outer))
        {
            outer = inner;
        }

        var root = outer.GetBaseException();
        if (ReferenceEquals(root, outer) || string.IsNullOrEmpty(root.Message) || outer.Message.Contains(root.Message, StringComparison.Ordinal))
        {
            return outer.Message;
        }

        return string.Concat(outer.Message, " (cause: ", root.Message, ")");
    }

    /// <summary>A check that had no result at its deadline; <paramref name="stillRunning"/> when an earlier run of it has not returned.</summary>
    public static string TimedOut(TimeSpan deadline, bool stillRunning) => string.Format(
        CultureInfo.InvariantCulture,
        stillRunning ? TimedOutPrefix + "{0:0} ms; still running from an earlier evaluation." : TimedOutPrefix + "{0:0} ms.",
        deadline.TotalMilliseconds);

    /// <summary>A result past its bound (<see cref="CheckTiming.Bound"/>): the refresh that should have replaced it has not.</summary>
    public static string Stale(TimeSpan age, in CheckTiming timing) => string.Format(
        CultureInfo.InvariantCulture,
        timing.Interval > TimeSpan.Zero
            ? "Last result is {0} old, past the {1} it may reach with its interval of {2} and its deadline of {3}: the refresh is stuck."
            : "Last result is {0} old, past the {1} it may reach when it runs in every evaluation with its deadline of {3}: the refresh is stuck.",
        Span(age),
        Span(timing.Bound),
        Span(timing.Interval),
        Span(timing.Deadline));

    private static string Span(TimeSpan span) =>
        span >= TimeSpan.FromSeconds(1)
            ? string.Format(CultureInfo.InvariantCulture, "{0:0.#} s", span.TotalSeconds)
            : string.Format(CultureInfo.InvariantCulture, "{0:0} ms", span.TotalMilliseconds);

    private static bool IsWrapper(Exception exception) =>
        exception is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException
        || string.IsNullOrEmpty(exception.Message)
        || exception.Message.Contains("inner exception", StringComparison.OrdinalIgnoreCase);
}

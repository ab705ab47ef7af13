// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Reflection;
using HealthKit.Evaluation;

namespace HealthKit.Tests.Evaluation;

[Trait("Tier", "Fast")]
public sealed class FailureDescriptionTests
{
    [Fact]
    public void Describe_WrapperThatPointsAtItsInnerException_IsSkipped_RootCauseAppended()
    {
        var root = new System.Net.Sockets.SocketException(111);
        var driver = new InvalidOperationException("Failed to connect to 10.0.0.5:5432", root);
        var wrapper = new InvalidOperationException("An exception has been raised that is likely due to a transient failure. See the inner exception for details.", driver);

        Assert.Equal($"Failed to connect to 10.0.0.5:5432 (cause: {root.Message})", FailureDescription.Describe(new TargetInvocationException(wrapper)));
    }

    [Fact]
    public void Describe_MessageAlreadyHoldsItsCause_SaidOnce()
    {
        var exception = new InvalidOperationException("Timeout: connection refused", new TimeoutException("connection refused"));

        Assert.Equal("Timeout: connection refused", FailureDescription.Describe(exception));
    }

    [Fact]
    public void Describe_NoException_SaysSo() =>
        Assert.Equal("The check failed without an exception.", FailureDescription.Describe(null));

    [Theory]
    [InlineData(false, "Timed out after 1500 ms.")]
    [InlineData(true, "Timed out after 1500 ms; still running from an earlier evaluation.")]
    public void TimedOut_SaysTheDeadline_AndWhetherAnEarlierRunStillGoes(bool stillRunning, string expected)
    {
        var description = FailureDescription.TimedOut(TimeSpan.FromMilliseconds(1500), stillRunning);

        Assert.Equal(expected, description);
        Assert.StartsWith(FailureDescription.TimedOutPrefix, description, StringComparison.Ordinal);
    }

    [Fact]
    public void Stale_CheckWithAnInterval_SaysItsAgeBoundIntervalAndDeadline() =>
        Assert.Equal(
            "Last result is 95 s old, past the 36 s it may reach with its interval of 30 s and its deadline of 2 s: the refresh is stuck.",
            FailureDescription.Stale(TimeSpan.FromSeconds(95), new CheckTiming(0, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(36))));

    [Fact]
    public void Stale_CheckWithoutAnInterval_SaysItRunsInEveryEvaluation() =>
        Assert.Equal(
            "Last result is 7.5 s old, past the 6 s it may reach when it runs in every evaluation with its deadline of 500 ms: the refresh is stuck.",
            FailureDescription.Stale(TimeSpan.FromSeconds(7.5), new CheckTiming(0, TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(6))));
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Evaluation;

/// <summary>Ends a check's DI scope without letting a scoped service that fails to dispose take the evaluation down.</summary>
internal static class ScopeDisposal
{
    public static void DisposeQuietly(AsyncServiceScope? scope)
    {
        if (scope is not { } owned)
        {
            return;
        }

        try
        {
            var disposing = owned.DisposeAsync();
            if (!disposing.IsCompletedSuccessfully)
            {
                _ = AwaitDisposalAsync(disposing);
            }
        }
#pragma warning disable CA1031 // A scoped service that fails to dispose must not take the evaluation down.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static async Task AwaitDisposalAsync(ValueTask disposing)
    {
        try
        {
            await disposing.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // As above.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}

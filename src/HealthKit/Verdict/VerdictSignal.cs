// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Primitives;

namespace HealthKit.Verdict;

/// <summary>
/// Tells the doors that push (gRPC Watch) that the verdict may have changed: an evaluation finished, a drain began,
/// a gate opened or closed. Listeners read the verdict again and compare; a signal without a change costs one read.
/// </summary>
internal sealed class VerdictSignal
{
    private CancellationTokenSource _source = new();

    /// <summary>Returns a token that fires at the next <see cref="Notify"/>.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _source).Token);

    public void Notify()
    {
        var previous = Interlocked.Exchange(ref _source, new CancellationTokenSource());
        // Not disposed: a listener may still be registering on the old token, which then fires at once.
        previous.Cancel();
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// The positive event a test waits for instead of sleeping when it must show that something did not happen: a real
/// balancer's further probes, as the app's ledger counts them. Each probe is one of the balancer's intervals passed on
/// its own clock, so "three more probes and still UP" holds on a loaded machine where "a second later" does not.
/// </summary>
internal static class ProbeCount
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Waits until <paramref name="more"/> further probes of <paramref name="kind"/> reached the app, on
    /// <paramref name="path"/> or on any path (the agent's connections not counted).
    /// </summary>
    public static async Task WaitForMoreAsync(KestrelApp app, ProberKind kind, int more, string? path = null)
    {
        var ledger = app.Services.GetRequiredService<ProberLedger>();
        var before = Count(ledger, kind, path);
        await ServerHost.WaitUntilAsync($"{more} more probes from {kind} on {path ?? "any path"}", () => Task.FromResult(Count(ledger, kind, path) >= before + more), Bound);
    }

    private static long Count(ProberLedger ledger, ProberKind kind, string? path)
    {
        long count = 0;
        foreach (var prober in ledger.Snapshot())
        {
            if (prober.Kind == kind && prober.Door != ProberDoor.Agent && (path is null || prober.Path == path))
            {
                count += prober.Count;
            }
        }

        return count;
    }
}

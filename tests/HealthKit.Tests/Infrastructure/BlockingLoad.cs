// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// Starves a test app's thread pool: 64 clients call its <c>/block?ms=2000</c> endpoint (HealthKit.TestBusyApp), at
/// most 1,000 calls in all, until the load's token is cancelled.
/// </summary>
internal static class BlockingLoad
{
    public static Task[] Start(HttpClient client, Uri app, CancellationToken load)
    {
        var sent = 0;
        return Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            while (!load.IsCancellationRequested && Interlocked.Increment(ref sent) <= 1000)
            {
                try
                {
                    using var response = await client.GetAsync(new Uri(app, "/block?ms=2000"), load);
                }
                catch (HttpRequestException)
                {
                    // The blocked app's own answers are not what these tests are about.
                }
                catch (OperationCanceledException)
                {
                    // The load stops: requests still queued are abandoned, as clients that give up do.
                }
            }
        })).ToArray();
    }
}

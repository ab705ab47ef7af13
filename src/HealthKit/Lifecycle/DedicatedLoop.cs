// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Lifecycle;

/// <summary>
/// A loop on a thread of its own (never the thread pool, which it may have to outlast or measure), stopped by a token
/// whose source is disposed only once the thread has ended: the loop waits on that token's handle, and a handle
/// disposed under a waiting thread throws there and takes the process down.
/// </summary>
internal sealed class DedicatedLoop(string name, TimeSpan stopBound) : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _thread;

    /// <summary>Starts <paramref name="run"/> on the loop's thread with the token that asks it to end.</summary>
    public void Start(Action<CancellationToken> run)
    {
        var token = _stopping.Token;
        _thread = new Thread(() => run(token)) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Asks the loop to end; it ends within one of its waits.</summary>
    public void Stop()
    {
        if (!_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
        }
    }

    public void Dispose()
    {
        Stop();

        // A loop that has not ended within its bound keeps its token source (a few bytes) rather than crash.
        if (_thread is null || _thread.Join(stopBound))
        {
            _stopping.Dispose();
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>A <see cref="TemplateApp"/> running as its own process; disposing kills it by PID.</summary>
public sealed class RunningApp : IAsyncDisposable
{
    private readonly ServerProcess _process;

    internal RunningApp(ServerProcess process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The app's last lines of output, for failure messages.</summary>
    public string Output => _process.Output;

    /// <summary>
    /// Kills the app by PID. Not SIGTERM: HealthKit's drain would keep a Production app serving for its 10 s
    /// default, and a throwaway app has nothing to drain.
    /// </summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

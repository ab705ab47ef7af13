// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;

namespace HealthKit.Safety;

/// <summary>The last beat of each worker; a worker that never beat is measured from when the host built this.</summary>
internal sealed class Heartbeats(TimeProvider time) : IHeartbeat
{
    private readonly ConcurrentDictionary<string, long> _last = new(StringComparer.OrdinalIgnoreCase);
    private readonly long _created = time.GetTimestamp();

    public void Beat(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _last[name] = time.GetTimestamp();
    }

    public (TimeSpan Age, bool EverBeat) AgeOf(string name) =>
        _last.TryGetValue(name, out var at) ? (time.GetElapsedTime(at), true) : (time.GetElapsedTime(_created), false);
}

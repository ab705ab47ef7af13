// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Lets long-running workers prove they are alive. A worker declared with
/// <see cref="DeployHealthBuilder.AddHeartbeat(string, TimeSpan)"/> that stops calling <see cref="Beat"/> for longer
/// than its maximum age makes readiness and liveness fail: a stuck worker is restarted, the way a dead queue worker
/// should fail a deploy.
/// </summary>
public interface IHeartbeat
{
    /// <summary>Records that the worker named <paramref name="name"/> is alive now.</summary>
    /// <param name="name">The name given to <see cref="DeployHealthBuilder.AddHeartbeat(string, TimeSpan)"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is <see langword="null"/>, empty or whitespace.</exception>
    void Beat(string name);
}

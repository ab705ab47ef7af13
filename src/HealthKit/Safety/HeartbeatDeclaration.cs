// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Safety;

/// <summary>A worker declared with <see cref="DeployHealthBuilder.AddHeartbeat"/>: its name and the longest time allowed between beats.</summary>
internal sealed record HeartbeatDeclaration(string Name, TimeSpan MaxAge)
{
    /// <summary>The name of its readiness check, and of its <c>DeployHealth:Checks:{name}</c> settings.</summary>
    public string CheckName => "heartbeat_" + Name;
}

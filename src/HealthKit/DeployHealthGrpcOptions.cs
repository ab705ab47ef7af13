// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Limits of the gRPC door (<c>grpc.health.v1.Health</c>), under <c>DeployHealth:Grpc</c>. Anyone who can open an
/// HTTP/2 connection can open a Watch stream, and each open stream costs some kilobytes while it stays open.
/// </summary>
public sealed class DeployHealthGrpcOptions
{
    /// <summary>
    /// Gets or sets how many <c>grpc.health.v1.Health/Watch</c> streams HealthKit keeps open at once in all; beyond it
    /// a Watch is refused with <c>RESOURCE_EXHAUSTED</c> (status 8), which gRPC clients retry with backoff.
    /// </summary>
    /// <value>The default is 1,000.</value>
    public int MaxWatchStreams { get; set; } = 1000;

    /// <summary>
    /// Gets or sets how many Watch streams one HTTP/2 connection may keep open at once; beyond it that connection's
    /// next Watch is refused with <c>RESOURCE_EXHAUSTED</c>. A client watches one or two services per connection.
    /// </summary>
    /// <value>The default is 16.</value>
    public int MaxWatchStreamsPerConnection { get; set; } = 16;
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// The HAProxy <c>agent-check</c> listener, under <c>DeployHealth:Agent</c>: it answers <c>up ready</c>,
/// <c>drain</c> or <c>down #reason</c> from the last readiness result, without any dependency work per connection.
/// </summary>
public sealed class DeployHealthAgentOptions
{
    /// <summary>Gets or sets the TCP port the agent listener binds to.</summary>
    /// <value>The default is <see langword="null"/>: no listener.</value>
    public int? Port { get; set; }

    /// <summary>Gets or sets the IP address the agent listener binds to.</summary>
    /// <value>The default is <c>127.0.0.1</c>; set the address HAProxy reaches the instance on.</value>
    public string Address { get; set; } = "127.0.0.1";
}

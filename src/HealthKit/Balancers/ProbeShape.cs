// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>How a probe's request was framed, where that tells probers without a <c>User-Agent</c> apart.</summary>
[Flags]
internal enum ProbeShape
{
    None = 0,

    /// <summary>HTTP/1.0.</summary>
    Http10 = 1,

    /// <summary>No <c>Host</c> header.</summary>
    NoHost = 2,

    /// <summary><c>Connection: close</c>.</summary>
    ConnectionClose = 4,
}

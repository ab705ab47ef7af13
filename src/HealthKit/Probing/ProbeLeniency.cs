// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>
/// What <see cref="ProbeHeadReader"/> accepts beyond what Kestrel's HTTP/1 parser would. The connection door reads
/// with none (a head it would read differently from Kestrel goes to Kestrel as it is); HealthKit's own probe listener,
/// which has no Kestrel behind it, reads with all.
/// </summary>
[Flags]
internal enum ProbeLeniency
{
    /// <summary>CRLF line ends and an origin-form (<c>/health</c>) or asterisk-form target only, as Kestrel reads them.</summary>
    None = 0,

    /// <summary>A bare LF ends a line (RFC 9112 lets a recipient accept it; some hand-written probes send it).</summary>
    BareLineFeed = 1,

    /// <summary>An absolute-form target (<c>http://10.0.0.5:8081/health</c>) is read as its path.</summary>
    AbsoluteForm = 2,

    /// <summary>What the probe listener accepts.</summary>
    Listener = BareLineFeed | AbsoluteForm,
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>
/// A request head as <see cref="ProbeHeadReader"/> read it: ranges into the caller's buffer, so reading allocates
/// nothing.
/// </summary>
internal readonly record struct ProbeHead(Range Method, Range Path, Range Accept, Range UserAgent, bool IsAsterisk, bool IsHttp11, bool HasHost, int Length)
{
    /// <summary>Gets whether the head carries an Accept header.</summary>
    public bool HasAccept => !Accept.Equals(default(Range));

    /// <summary>Gets whether the head carries a User-Agent header (the prober's identity, for the ledger).</summary>
    public bool HasUserAgent => !UserAgent.Equals(default(Range));
}

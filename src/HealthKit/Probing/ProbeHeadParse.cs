// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>What <see cref="ProbeHeadReader.Read"/> made of the bytes so far.</summary>
internal enum ProbeHeadParse
{
    /// <summary>The head is not complete yet: read more (bounded by the door).</summary>
    Incomplete,

    /// <summary>A complete, well-formed HTTP/1.0 or HTTP/1.1 head.</summary>
    Complete,

    /// <summary>Not an HTTP/1.x request head under the leniencies asked for: 400, or Kestrel's to answer.</summary>
    Malformed,

    /// <summary>A version other than HTTP/1.0 or HTTP/1.1 (an HTTP/2 preface): 505, or Kestrel's to answer.</summary>
    UnsupportedVersion,
}

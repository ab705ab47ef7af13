// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Doors.Connection;

/// <summary>What <see cref="ProbeHead.Inspect"/> made of the bytes so far.</summary>
internal enum ProbeHeadResult
{
    /// <summary>Not a probe Kestrel would refuse: hand the connection to Kestrel with nothing consumed.</summary>
    Pass,

    /// <summary>Could still become one: read more (bounded by size and time).</summary>
    NeedMore,

    /// <summary>A probe Kestrel would refuse: answer it here and close the connection.</summary>
    Answer,
}

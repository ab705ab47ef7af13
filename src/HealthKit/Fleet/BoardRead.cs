// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Fleet;

/// <summary>What one exchange with the board read: Redis's clock, whether the board was full, the live entries and the bytes moved.</summary>
internal sealed record BoardRead(long RedisNow, bool Full, IReadOnlyList<FleetEntry> Entries, long Bytes);

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Fleet;

/// <summary>
/// The fleet as one exchange saw it: every live instance's entry (this one's included), read at
/// <see cref="ReadAt"/>. Immutable; the fleet service replaces it after each exchange.
/// </summary>
internal sealed class FleetPicture
{
    public FleetPicture(string selfId, BoardRead read, long readAt, DateTimeOffset readAtWall)
    {
        RedisNow = read.RedisNow;
        Full = read.Full;
        ReadAt = readAt;
        ReadAtWall = readAtWall;
        Bytes = read.Bytes;
        var peers = new List<FleetEntry>(read.Entries.Count);
        foreach (var entry in read.Entries)
        {
            if (entry.Id == selfId)
            {
                Self = entry;
            }
            else
            {
                peers.Add(entry);
            }
        }

        peers.Sort(static (a, b) => string.CompareOrdinal(a.Host + a.Id, b.Host + b.Id));
        Peers = peers;
    }

    /// <summary>Gets this instance's own entry as stored, or null when the board was full.</summary>
    public FleetEntry? Self { get; }

    /// <summary>Gets the other live instances, by host.</summary>
    public IReadOnlyList<FleetEntry> Peers { get; }

    /// <summary>Gets the number of live instances, this one included.</summary>
    public int Live => Peers.Count + 1;

    public bool Full { get; }

    /// <summary>Gets Redis's clock at the exchange, in Unix milliseconds.</summary>
    public long RedisNow { get; }

    /// <summary>Gets the <see cref="TimeProvider.GetTimestamp"/> of the exchange.</summary>
    public long ReadAt { get; }

    public DateTimeOffset ReadAtWall { get; }

    public long Bytes { get; }

    /// <summary>Gets how far this instance's clock is ahead of Redis's, in milliseconds, as measured at the exchange.</summary>
    public long SelfClockOffset => Self?.ClockOffset ?? 0;
}

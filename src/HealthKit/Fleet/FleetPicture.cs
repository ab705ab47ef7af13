// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;

namespace HealthKit.Fleet;

/// <summary>
/// The fleet as one exchange saw it: every live instance's entry (this one's included), read at
/// <see cref="ReadAt"/>. Immutable; the fleet service replaces it after each exchange.
/// </summary>
internal sealed class FleetPicture
{
    private readonly Dictionary<string, FleetEntry> _byId;

    public FleetPicture(string selfId, BoardRead read, long readAt, DateTimeOffset readAtWall, FleetPicture? previous = null, SelfReport? report = null)
    {
        RedisNow = read.RedisNow;
        Full = read.Full;
        ReadAt = readAt;
        ReadAtWall = readAtWall;
        Bytes = read.Bytes;
        Report = report;
        var peers = new List<FleetEntry>(read.Entries.Count);
        foreach (var entry in read.Entries)
        {
            if (entry.Id == selfId)
            {
                Self = entry;
                continue;
            }

            // Since when this instance has seen each of the peer's statuses, on Redis's clock: carried while a status
            // stays, this read's time when it is new (a later bound than the peer's own publication, never earlier).
            var before = previous?.Find(entry.Id);
            // What the judge asks is whether a peer fails a check or not, so only that counts as a change.
            foreach (var (check, status) in entry.Checks)
            {
                entry.Seen[check] = before is not null && before.Checks.TryGetValue(check, out var was) && Fails(was) == Fails(status) && before.Seen.TryGetValue(check, out var since)
                    ? since
                    : read.RedisNow;
            }

            peers.Add(entry);
        }

        _byId = new Dictionary<string, FleetEntry>(peers.Count, StringComparer.Ordinal);
        foreach (var peer in peers)
        {
            _byId[peer.Id] = peer;
        }

        peers.Sort(static (a, b) => string.CompareOrdinal(a.Host + a.Id, b.Host + b.Id));
        Peers = peers;
    }

    /// <summary>Gets what this instance published with the exchange, for the judge; null in pictures built by tests without it.</summary>
    public SelfReport? Report { get; }

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

    /// <summary>Whether a published status (<c>P</c>, <c>W</c> or <c>F</c>, then the scope) is a failure.</summary>
    public static bool Fails(string status) => status.Length > 0 && status[0] == 'F';

    /// <summary>Whether a published status's scope is Local (<c>L</c>): the check's own, or a finding of the instance's own.</summary>
    public static bool IsLocal(string status) => status.Length > 1 && status[1] == 'L';

    /// <summary>The peer with <paramref name="id"/>, or null.</summary>
    public FleetEntry? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// What this instance published with the exchange: the evaluation (<see cref="Snapshot"/>), the point on Redis's
    /// clock it began after (<see cref="Floor"/>), and, per check failing in it, when the current failure began
    /// (the evaluation's transition time) and Redis's time at the first exchange that published it.
    /// </summary>
    internal sealed record SelfReport(HealthSnapshot Snapshot, long Floor, IReadOnlyDictionary<string, PublishedFailure> Failures);

    /// <summary>A failure as this instance published it: its transition time, and Redis's time when it was first on the board.</summary>
    internal readonly record struct PublishedFailure(DateTimeOffset Since, long PublishedAt);
}

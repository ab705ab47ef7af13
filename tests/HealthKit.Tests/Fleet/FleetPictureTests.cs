// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Fleet;

namespace HealthKit.Tests.Fleet;

/// <summary>Since when a peer's status has been seen: what the judge compares this instance's failing evaluation with.</summary>
[Trait("Tier", "Fast")]
public sealed class FleetPictureTests
{
    [Fact]
    public void Seen_PeerStillPasses_KeepsTheReadItWasFirstSeenIn()
    {
        var first = Picture(1_000, previous: null, ("b", "PS"));

        var next = Picture(2_000, first, ("b", "WS"));

        Assert.Equal(1_000, next.Find("b")!.Seen["postgres"]);
    }

    [Fact]
    public void Seen_PeerStartsFailing_IsThisRead()
    {
        var first = Picture(1_000, previous: null, ("b", "PS"));

        var next = Picture(2_000, first, ("b", "FS"));

        Assert.Equal(2_000, next.Find("b")!.Seen["postgres"]);
    }

    [Fact]
    public void Seen_PeerNewOnTheBoard_IsThisRead()
    {
        var first = Picture(1_000, previous: null, ("b", "PS"));

        var next = Picture(2_000, first, ("b", "PS"), ("c", "PS"));

        Assert.Equal(2_000, next.Find("c")!.Seen["postgres"]);
        Assert.Equal(1_000, next.Find("b")!.Seen["postgres"]);
    }

    private static FleetPicture Picture(long redisNow, FleetPicture? previous, params (string Id, string Postgres)[] peers)
    {
        var entries = new List<FleetEntry> { new() { Id = "self" } };
        foreach (var (id, postgres) in peers)
        {
            entries.Add(new FleetEntry { Id = id, Host = id, Checks = new Dictionary<string, string> { ["postgres"] = postgres } });
        }

        return new FleetPicture("self", new BoardRead(redisNow, false, entries, 0), 0, DateTimeOffset.UnixEpoch, previous);
    }
}

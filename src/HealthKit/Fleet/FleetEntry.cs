// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Fleet;

/// <summary>
/// One instance's entry on the fleet board, as JSON in the board's hash: what the instance is (a per-process id,
/// host, addresses, build) and what it sees (status and scope of each check, Data Protection facts, a fingerprint of
/// its required configuration, its clock). Short property names: every instance reads every entry on each exchange.
/// Bounded by <see cref="FleetFacts"/> (checks, addresses, key ids and text lengths are capped).
/// </summary>
internal sealed class FleetEntry
{
    /// <summary>Gets or sets the format version, so a later HealthKit can tell an older entry.</summary>
    [JsonPropertyName("v")]
    public int Version { get; set; } = 1;

    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("host")]
    public string Host { get; set; } = string.Empty;

    [JsonPropertyName("pid")]
    public int ProcessId { get; set; }

    [JsonPropertyName("addr")]
    public List<string> Addresses { get; set; } = [];

    [JsonPropertyName("build")]
    public string Build { get; set; } = string.Empty;

    /// <summary>Gets or sets how many times this instance has published: a new value is a new report.</summary>
    [JsonPropertyName("seq")]
    public long Sequence { get; set; }

    /// <summary>Gets or sets the instance's own clock when it published, in Unix milliseconds.</summary>
    [JsonPropertyName("at")]
    public long Clock { get; set; }

    /// <summary>
    /// Gets or sets a point on Redis's clock that the published evaluation began after: Redis's time at the last
    /// exchange this instance had finished when the evaluation began, in Unix milliseconds (0: none yet). Redis's clock
    /// orders every exchange of every instance, so "this evaluation began after that instance published its failure"
    /// is decided without comparing two machines' clocks.
    /// </summary>
    [JsonPropertyName("evr")]
    public long EvaluationFloor { get; set; }

    /// <summary>Gets or sets the readiness this instance answers: pass, warn or fail.</summary>
    [JsonPropertyName("ready")]
    public string Ready { get; set; } = "fail";

    [JsonPropertyName("why")]
    public string? Reason { get; set; }

    /// <summary>Gets or sets each check's status and scope: <c>P</c>, <c>W</c> or <c>F</c> then <c>L</c> or <c>S</c>.</summary>
    [JsonPropertyName("checks")]
    public Dictionary<string, string> Checks { get; set; } = [];

    /// <summary>Gets or sets a hash of the Data Protection application discriminator, or null without Data Protection.</summary>
    [JsonPropertyName("dpapp")]
    public string? Discriminator { get; set; }

    /// <summary>Gets or sets the id of the Data Protection key new cookies and tokens are protected with.</summary>
    [JsonPropertyName("dpkey")]
    public string? DefaultKey { get; set; }

    /// <summary>Gets or sets the ids of the keys this instance can unprotect with, newest first.</summary>
    [JsonPropertyName("dpkeys")]
    public List<string> Keys { get; set; } = [];

    /// <summary>Gets or sets a hash of the required configuration's keys and values (never the values).</summary>
    [JsonPropertyName("cfg")]
    public string? Configuration { get; set; }

    /// <summary>Gets when Redis stored this entry, in Unix milliseconds on Redis's clock (set on read, not published).</summary>
    [JsonIgnore]
    public long StoredAt { get; set; }

    /// <summary>
    /// Gets, per check, Redis's time at the first exchange at which the reading instance saw the check's current
    /// status on this entry (set on read, carried from one picture to the next while the status stays).
    /// </summary>
    [JsonIgnore]
    public Dictionary<string, long> Seen { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets how far this instance's clock is ahead of Redis's, in milliseconds (set on read).</summary>
    [JsonIgnore]
    public long ClockOffset => Clock - StoredAt;

    public static char StatusLetter(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => 'P',
        HealthStatus.Degraded => 'W',
        _ => 'F',
    };
}

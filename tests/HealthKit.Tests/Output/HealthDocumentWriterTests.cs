// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;
using HealthKit.Checks;
using HealthKit.Evaluation;
using HealthKit.Output;
using HealthKit.Verdict;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Output;

/// <summary>
/// The health document's <c>notes</c> and the status page's note, rendered from the verdict's typed reason: the
/// documented words for each reason, none when the checks decided, whatever sentence the verdict carries.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class HealthDocumentWriterTests : IAsyncDisposable
{
    private static readonly DateTimeOffset EvaluatedAt = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services = new ServiceCollection().BuildServiceProvider();
    private readonly RedisConnectionSource _redis;
    private readonly HealthDocumentWriter _writer;

    public HealthDocumentWriterTests()
    {
        _redis = new RedisConnectionSource(_services);
        _writer = new HealthDocumentWriter(new ConfiguredValues(_services, _redis));
    }

    public static TheoryData<string, HealthStatus, string?, string?> Reasons => new()
    {
        { nameof(VerdictReason.Starting), HealthStatus.Unhealthy, "starting", "starting" },
        { nameof(VerdictReason.Draining), HealthStatus.Unhealthy, "draining", "draining" },
        { nameof(VerdictReason.Overloaded), HealthStatus.Unhealthy, "overloaded: thread pool starved for 1500 ms", "overloaded: thread pool starved for 1500 ms" },
        { nameof(VerdictReason.Overloaded), HealthStatus.Unhealthy, null, "overloaded" },
        { nameof(VerdictReason.FleetOutage), HealthStatus.Degraded, "fleet-wide outage: 'db' fails on 3 of 4 instances; staying in rotation", "fleet-wide outage: 'db' fails on 3 of 4 instances; staying in rotation" },
        { nameof(VerdictReason.FleetConfirming), HealthStatus.Degraded, "'db' fails; waiting for the board to confirm it fails here alone before leaving rotation", "'db' fails; waiting for the board to confirm it fails here alone before leaving rotation" },
        { nameof(VerdictReason.ChecksFailing), HealthStatus.Unhealthy, null, null },
        { nameof(VerdictReason.None), HealthStatus.Healthy, null, null },
    };

    [Theory]
    [MemberData(nameof(Reasons))]
    public void Write_EachReason_NotesAsDocumented(string cause, HealthStatus status, string? reason, string? expected)
    {
        using var document = JsonDocument.Parse(_writer.Write(new ProbeVerdict(status, Enum.Parse<VerdictReason>(cause), reason, Snapshot(status))));
        var root = document.RootElement;

        Assert.Equal(HealthDocumentWriter.Word(status), root.GetProperty("status").GetString());
        if (expected is null)
        {
            Assert.False(root.TryGetProperty("notes", out _));
        }
        else
        {
            Assert.Equal([expected], root.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        }

        Assert.Equal(HealthDocumentWriter.Word(status), root.GetProperty("checks").GetProperty("db")[0].GetProperty("status").GetString());
    }

    [Fact]
    public void Write_ReasonDecidesNotTheSentence()
    {
        // A sentence that says something else never becomes the note: the typed reason decides.
        using var drained = JsonDocument.Parse(_writer.Write(new ProbeVerdict(HealthStatus.Unhealthy, VerdictReason.Draining, "shutting down", null)));
        Assert.Equal("draining", drained.RootElement.GetProperty("notes")[0].GetString());

        using var failing = JsonDocument.Parse(_writer.Write(new ProbeVerdict(HealthStatus.Unhealthy, VerdictReason.ChecksFailing, "db failed", Snapshot(HealthStatus.Unhealthy))));
        Assert.False(failing.RootElement.TryGetProperty("notes", out _));
        Assert.Equal("fail", failing.RootElement.GetProperty("checks").GetProperty("db")[0].GetProperty("status").GetString());
    }

    [Fact]
    public void StatusPage_ShowsTheReasonsWords()
    {
        var page = System.Text.Encoding.UTF8.GetString(StatusPage.Render(new ProbeVerdict(HealthStatus.Unhealthy, VerdictReason.Starting, "warming up", null), "Health", _writer));

        Assert.Contains("<strong>starting</strong>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("warming up", page, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _services.DisposeAsync();
    }

    private static HealthSnapshot Snapshot(HealthStatus status)
    {
        var entries = new Dictionary<string, HealthReportEntry>
        {
            ["db"] = new(status, status == HealthStatus.Healthy ? null : "connection refused", TimeSpan.FromMilliseconds(3), null, null, ["db"]),
        };
        return new HealthSnapshot(new HealthReport(entries, TimeSpan.FromMilliseconds(3)), 0, EvaluatedAt, new Dictionary<string, DateTimeOffset>());
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Resources;

namespace HealthKit.Tests.Resources;

/// <summary>The threshold rules of the resource checks, on plain numbers.</summary>
[Trait("Tier", "Fast")]
public sealed class ResourceRulesTests
{
    [Theory]
    [InlineData(10, "Pass")]
    [InlineData(79.9, "Pass")]
    [InlineData(80, "Warn")]
    [InlineData(89.9, "Warn")]
    [InlineData(90, "Fail")]
    [InlineData(100, "Fail")]
    public void JudgeUsed_FromPass_WarnAndFailAtTheirThresholds(double percent, string expected) =>
        Assert.Equal(Enum.Parse<ResourceLevel>(expected), ResourceRules.JudgeUsed(percent, 80, 90, ResourceLevel.Pass));

    [Theory]
    [InlineData("Fail", 86, "Fail")]
    [InlineData("Fail", 84.9, "Warn")]
    [InlineData("Warn", 76, "Warn")]
    [InlineData("Warn", 74.9, "Pass")]
    [InlineData("Fail", 50, "Pass")]
    public void JudgeUsed_LevelReached_LeftOnlyFivePointsBelowItsThreshold(string previous, double percent, string expected) =>
        Assert.Equal(Enum.Parse<ResourceLevel>(expected), ResourceRules.JudgeUsed(percent, 80, 90, Enum.Parse<ResourceLevel>(previous)));

    [Fact]
    public void JudgeUsed_ValueHoveringAtThreshold_DoesNotFlap()
    {
        var level = ResourceLevel.Pass;
        var seen = new List<ResourceLevel>();
        foreach (var percent in (double[])[79, 81, 79, 81, 78, 80.5, 77])
        {
            level = ResourceRules.JudgeUsed(percent, 80, 90, level);
            seen.Add(level);
        }

        Assert.Equal([ResourceLevel.Pass, ResourceLevel.Warn, ResourceLevel.Warn, ResourceLevel.Warn, ResourceLevel.Warn, ResourceLevel.Warn, ResourceLevel.Warn], seen);
    }

    [Theory]
    [InlineData(2L << 40, 1L << 30)] // 2 TiB: 10% would be 205 GiB, so the 1 GiB applies.
    [InlineData(64L << 20, 6710886)] // 64 MiB: 1 GiB would always warn, so 10% (6.4 MiB) applies.
    public void FreeThreshold_LowerOfBytesAndPercent(long total, long expected) =>
        Assert.Equal(expected, ResourceRules.FreeThreshold(total, 1L << 30, 10));

    [Theory]
    [InlineData(80L << 30, "Pass")]
    [InlineData(900L << 20, "Warn")]
    [InlineData(99L << 20, "Fail")]
    [InlineData(0, "Fail")]
    public void JudgeFree_LargeVolume_BytesDecide(long free, string expected) =>
        Assert.Equal(Enum.Parse<ResourceLevel>(expected), ResourceRules.JudgeFree(free, 250L << 30, new DeployHealthResourceOptions(), ResourceLevel.Pass));

    [Theory]
    [InlineData(10L << 20, "Pass")]
    [InlineData(1L << 20, "Warn")]
    [InlineData(300L << 10, "Fail")]
    public void JudgeFree_SmallVolume_PercentDecides(long free, string expected) =>
        Assert.Equal(Enum.Parse<ResourceLevel>(expected), ResourceRules.JudgeFree(free, 16L << 20, new DeployHealthResourceOptions(), ResourceLevel.Pass));

    [Fact]
    public void JudgeFree_JustBackAboveThreshold_KeepsLevelUntilMarginPassed()
    {
        var options = new DeployHealthResourceOptions();
        var warnAt = ResourceRules.FreeThreshold(250L << 30, options.DiskWarnBytes, options.DiskWarnPercent);

        Assert.Equal(ResourceLevel.Warn, ResourceRules.JudgeFree(warnAt + 1, 250L << 30, options, ResourceLevel.Warn));
        Assert.Equal(ResourceLevel.Pass, ResourceRules.JudgeFree(warnAt + (warnAt / 10), 250L << 30, options, ResourceLevel.Warn));
    }

    [Theory]
    [InlineData("9011 2033 1411 6 0 2740 0\n", 622L)]
    [InlineData("9011 2033", 2033L)]
    [InlineData("9011", null)]
    [InlineData("", null)]
    public void ParsePrivatePages_ResidentLessSharedFromStatm(string statm, long? expected) =>
        Assert.Equal(expected, MemoryHealthCheck.ParsePrivatePages(Encoding.ASCII.GetBytes(statm)));

    [Theory]
    [InlineData("Data Source=/var/lib/shop/app.db", "/var/lib/shop")]
    [InlineData("DataSource=/srv/data/shop.db;Cache=Shared", "/srv/data")]
    [InlineData("Filename=/srv/x.db", "/srv")]
    [InlineData("Data Source=:memory:", null)]
    [InlineData("Data Source=shop;Mode=Memory;Cache=Shared", null)]
    [InlineData("Data Source=file:/srv/uri.db", "/srv")]
    [InlineData("Data Source=file:///srv/data/uri.db?mode=rwc", "/srv/data")]
    [InlineData("Data Source=file::memory:?cache=shared", null)]
    public void SqliteDirectory_FromConnectionString(string connectionString, string? expected) =>
        Assert.Equal(expected, WrittenDirectories.SqliteDirectory(connectionString));

    [Fact]
    public void SqliteDirectory_RelativePath_FromWorkingDirectory() =>
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "data"), WrittenDirectories.SqliteDirectory("Data Source=data/app.db"));
}

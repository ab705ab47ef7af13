// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using Perfolizer.Metrology;

namespace HealthKit.Benchmarks;

/// <summary>Shows Allocated in bytes: the budget is 256 B per probe, and kilobytes with two decimals blur it.</summary>
public sealed class ByteSizeConfig : ManualConfig
{
    public ByteSizeConfig()
    {
        SummaryStyle = SummaryStyle.Default.WithSizeUnit(SizeUnit.B);
        AddColumn(StatisticColumn.Median);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.ObjectModel;
using System.Diagnostics;

/// <summary>
/// The spans OpenTelemetry's in-memory exporter hands over, for the tests to count by path (<c>/spans</c>). The
/// exporter adds from the thread that stops an Activity while <c>/spans</c> reads: both take the same lock.
/// </summary>
internal sealed class ExportedSpans : Collection<Activity>
{
    /// <summary>How many server spans were exported for each request path (the <c>url.path</c> tag).</summary>
    /// <returns>The counts, by path.</returns>
    public Dictionary<string, int> CountByPath()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        lock (Items)
        {
            foreach (var span in Items)
            {
                if (span.GetTagItem("url.path") is string path)
                {
                    counts[path] = counts.GetValueOrDefault(path) + 1;
                }
            }
        }

        return counts;
    }

    /// <inheritdoc/>
    protected override void InsertItem(int index, Activity item)
    {
        lock (Items)
        {
            base.InsertItem(index, item);
        }
    }

    /// <inheritdoc/>
    protected override void ClearItems()
    {
        lock (Items)
        {
            base.ClearItems();
        }
    }
}

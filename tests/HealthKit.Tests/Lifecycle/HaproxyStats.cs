// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;
using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// Reads one server's row of HAProxy's <c>show stat</c> by column name (status, check_status, last_chk, agent_status,
/// last_agt...), and times how long HAProxy takes to reach a status.
/// </summary>
public static class HaproxyStats
{
    public static async Task<IReadOnlyDictionary<string, string>> GetServerRowAsync(HaproxyServer haproxy, string backend, string server)
    {
        var stat = await haproxy.SendCommandAsync("show stat");
        var lines = stat.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines.First(l => l.StartsWith("# ", StringComparison.Ordinal))[2..].Split(',');
        foreach (var line in lines)
        {
            var fields = line.Split(',');
            if (fields.Length >= header.Length - 1 && fields[0] == backend && fields[1] == server)
            {
                var row = new Dictionary<string, string>();
                for (var i = 0; i < header.Length && i < fields.Length; i++)
                {
                    if (header[i].Length > 0)
                    {
                        row[header[i]] = fields[i];
                    }
                }

                return row;
            }
        }

        throw new InvalidOperationException($"HAProxy has no server {backend}/{server}:\n{stat}");
    }

    /// <summary>The row in one line, for test output: status, health check and agent results.</summary>
    public static async Task<string> DescribeAsync(HaproxyServer haproxy, string backend, string server)
    {
        var row = await GetServerRowAsync(haproxy, backend, server);
        string Get(string name) => row.TryGetValue(name, out var value) ? value : "?";
        return $"status={Get("status")} weight={Get("weight")} check={Get("check_status")}/{Get("check_code")} last_chk='{Get("last_chk")}' agent={Get("agent_status")} last_agt='{Get("last_agt")}'";
    }

    /// <summary>
    /// Polls (bounded) until the server's status is <paramref name="status"/>, or that status in transition
    /// ("DRAIN 1/2" counts as DRAIN); returns the time it took.
    /// </summary>
    public static async Task<TimeSpan> TimeUntilStatusAsync(HaproxyServer haproxy, string backend, string server, string status, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        await haproxy.WaitForServerStatusAsync(backend, server, s => s == status || s.StartsWith(status + " ", StringComparison.Ordinal), timeout);
        return Stopwatch.GetElapsedTime(start);
    }
}

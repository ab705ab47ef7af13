// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace HealthKit.Benchmarks;

/// <summary>What the command-line runners (startup, overload, fleet, evalcpu, nonprobe) share: options, a median, a free port.</summary>
internal static class RunnerSupport
{
    /// <summary>The median, or NaN when there is nothing to take it of.</summary>
    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var n = sorted.Count;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>The value after <paramref name="name"/> on the command line, or <see langword="null"/>.</summary>
    public static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    public static int Option(string[] args, string name, int fallback) =>
        Option(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

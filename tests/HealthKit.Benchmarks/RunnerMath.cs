// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;

namespace HealthKit.Benchmarks;

/// <summary>What the command-line runners (evalcpu, nonprobe) share: a median and an integer option.</summary>
internal static class RunnerMath
{
    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    public static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}

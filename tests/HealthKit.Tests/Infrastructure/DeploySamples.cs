// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.RegularExpressions;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// The balancer configurations users copy (samples/deploy), read from the repository so that the tests run the very
/// files the docs point at. Their placeholders are <c>${NAME}</c>, each standing alone; every one must be given a
/// value and every value must be used, so a renamed or added placeholder fails the test instead of rotting.
/// </summary>
public static partial class DeploySamples
{
    private const string SolutionFile = "HealthKit.sln";

    /// <summary>samples/deploy, found by walking up from the test assembly to the directory holding HealthKit.sln.</summary>
    public static DirectoryInfo Directory { get; } = Find();

    /// <summary>The file <paramref name="name"/> of samples/deploy with each <c>${NAME}</c> replaced by its value.</summary>
    /// <exception cref="InvalidOperationException">A placeholder has no value, or a value no placeholder.</exception>
    public static string Load(string name, IReadOnlyDictionary<string, string> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(values);
        var path = Path.Combine(Directory.FullName, name);
        var text = File.ReadAllText(path);

        // Only lines that are not comments: the comments show the placeholders in their explanations.
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new HashSet<string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith('#'))
            {
                continue;
            }

            lines[i] = Placeholder().Replace(lines[i], match =>
            {
                var key = match.Groups["name"].Value;
                if (values.TryGetValue(key, out var value))
                {
                    used.Add(key);
                    return value;
                }

                missing.Add(key);
                return match.Value;
            });
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"{path} has placeholders the test gives no value: {string.Join(", ", missing)}.");
        }

        var unused = values.Keys.Where(k => !used.Contains(k)).ToList();
        if (unused.Count > 0)
        {
            throw new InvalidOperationException($"{path} no longer has the placeholders {string.Join(", ", unused)}.");
        }

        return string.Join('\n', lines);
    }

    private static DirectoryInfo Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return new DirectoryInfo(Path.Combine(directory.FullName, "samples", "deploy"));
            }
        }

        throw new InvalidOperationException($"No {SolutionFile} above {AppContext.BaseDirectory}: the tests read samples/deploy from the repository.");
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Z0-9_]+)\}")]
    private static partial Regex Placeholder();
}

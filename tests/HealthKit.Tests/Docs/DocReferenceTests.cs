// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace HealthKit.Tests.Docs;

/// <summary>
/// What the docs say about the code matches the code, for what can be checked mechanically:
/// <list type="bullet">
/// <item>Every <c>[LoggerMessage]</c> event in src/ has one row in the event table of docs/operators.md ("## Logs"):
/// <c>| id | `EventName` | Level | when |</c>, one event per row; and every row is an event of src/.</item>
/// <item>Every public property of the options types has a row in its table in docs/configuration.md (the table of
/// the section named below, with a <c>Default</c> column): first cell the key as written in configuration
/// (<c>`Fleet:Interval`</c>, <c>`Checks:{name}:Deadline`</c>, <c>`RequiredConfiguration:{i}`</c>), the default cell
/// stating the default (<c>2 s</c>, <c>1 min</c>, <c>14 days</c>, <c>`true`</c>, <c>50</c>, <c>`/health`</c>,
/// <c>`Unhealthy`</c>; for a null or empty default, what that means).</item>
/// <item>Every repository path a doc or sample cites exists: relative markdown links, and paths that begin with a
/// top-level folder (<c>src/</c>, <c>tests/</c>, <c>samples/</c>, <c>docs/</c>, <c>build/</c>) or with a feature
/// folder of src/HealthKit or tests/HealthKit.Tests (<c>Doors/Http/ProbeMiddleware.cs</c>,
/// <c>Lifecycle/WarmUp</c>, <c>Packaging/DependencyFloorTests</c>), and every <c>*.cs</c> file name.</item>
/// </list>
/// </summary>
[Trait("Tier", "Fast")]
public sealed partial class DocReferenceTests
{
    private static readonly Lazy<string> Repository = new(FindRepository);

    public static TheoryData<string, string, string> OptionTables => new()
    {
        { nameof(DeployHealthOptions), "DeployHealthOptions", string.Empty },
        { nameof(DeployHealthCheckOptions), "Per-check settings", "Checks:{name}:" },
        { nameof(DeployHealthFleetOptions), "Fleet", "Fleet:" },
        { nameof(DeployHealthStartupOptions), "DeployHealthOptions", "Startup:" },
        { nameof(DeployHealthDrainOptions), "DeployHealthOptions", "Drain:" },
        { nameof(DeployHealthProbeListenerOptions), "DeployHealthOptions", "ProbeListener:" },
        { nameof(DeployHealthAgentOptions), "DeployHealthOptions", "Agent:" },
        { nameof(DeployHealthGrpcOptions), "DeployHealthOptions", "Grpc:" },
        { nameof(DeployHealthCertificateOptions), "DeployHealthOptions", "Certificates:" },
        { nameof(DeployHealthResourceOptions), "DeployHealthOptions", "Resources:" },
        { nameof(SmokePageOptions), "SmokePageOptions", string.Empty },
    };

    [Fact]
    public void Operators_EventTable_HasEverySourceEventWithItsIdNameAndLevel()
    {
        var events = SourceEvents();
        var rows = Table(Section(ReadDoc("docs/operators.md"), "## Logs"), "Id");
        var documented = new Dictionary<int, (string Name, string Level)>();
        var problems = new List<string>();
        foreach (var row in rows)
        {
            if (!int.TryParse(row["Id"], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                problems.Add($"row '{row["Id"]}': one event per row, its id a plain number");
                continue;
            }

            if (!documented.TryAdd(id, (row["Name"].Trim('`'), row["Level"])))
            {
                problems.Add($"event {id} has two rows");
            }
        }

        foreach (var (id, (name, level, file)) in events)
        {
            if (!documented.TryGetValue(id, out var row))
            {
                problems.Add($"event {id} `{name}` ({level}, {file}) is not in the table");
            }
            else if (row.Name != name || row.Level != level)
            {
                problems.Add($"event {id}: the table says `{row.Name}` {row.Level}, {file} says `{name}` {level}");
            }
        }

        foreach (var id in documented.Keys.Where(id => !events.ContainsKey(id)))
        {
            problems.Add($"event {id} `{documented[id].Name}` is in the table but in no [LoggerMessage] of src/");
        }

        Assert.True(problems.Count == 0, "docs/operators.md, ## Logs:\n" + string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(OptionTables))]
    public void Configuration_OptionsTable_HasEveryKeyWithItsDefault(string type, string section, string prefix)
    {
        var optionsType = typeof(DeployHealthOptions).Assembly.GetType("HealthKit." + type, throwOnError: true)!;
        var defaults = Activator.CreateInstance(optionsType)!;
        var rows = Table(Section(ReadDoc("docs/configuration.md"), "## " + section), "Default");
        var problems = new List<string>();
        foreach (var property in optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = prefix + property.Name;
            var row = rows.FirstOrDefault(r => KeyCell(r) == key || KeyCell(r).StartsWith(key + ":", StringComparison.Ordinal));
            if (row is null)
            {
                problems.Add($"`{key}` has no row");
                continue;
            }

            var cell = row["Default"];
            var expected = Describe(property.GetValue(defaults));
            if (cell.Length == 0)
            {
                problems.Add($"`{key}` has no default");
            }
            else if (expected.Length > 0 && !expected.Any(e => Regex.IsMatch(cell, $@"(^|[^\w.]){Regex.Escape(e)}($|[^\w.])", RegexOptions.None, TimeSpan.FromSeconds(1))))
            {
                problems.Add($"`{key}`: the default is {string.Join(" or ", expected)}, the table says '{cell}'");
            }
        }

        Assert.True(problems.Count == 0, $"docs/configuration.md, ## {section}:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void DocsAndSamples_CitedPaths_Exist()
    {
        var root = Repository.Value;
        var featureFolders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var folder in new[] { Path.Combine(root, "src", "HealthKit"), Path.Combine(root, "tests", "HealthKit.Tests") })
        {
            foreach (var directory in Directory.GetDirectories(folder))
            {
                featureFolders.Add(Path.GetFileName(directory));
            }
        }

        featureFolders.ExceptWith(["bin", "obj"]);
        var files = TrackedFiles(root);
        var problems = new List<string>();
        foreach (var (document, text) in CitingFiles(root))
        {
            var lineNumber = 0;
            foreach (var line in text.Split('\n'))
            {
                lineNumber++;
                foreach (Match link in MarkdownLink().Matches(line))
                {
                    var target = link.Groups[1].Value.Split('#')[0];
                    if (target.Length > 0 && !target.Contains("://", StringComparison.Ordinal) && !target.StartsWith("mailto:", StringComparison.Ordinal)
                        && !File.Exists(Path.Combine(root, Path.GetDirectoryName(document)!, target)) && !Directory.Exists(Path.Combine(root, Path.GetDirectoryName(document)!, target)))
                    {
                        problems.Add($"{document}:{lineNumber}: link to {target}, which does not exist");
                    }
                }

                foreach (Match token in PathToken().Matches(line))
                {
                    var path = token.Value.TrimEnd('.');
                    var first = path.Split('/')[0];
                    var cited = path.Contains('/', StringComparison.Ordinal)
                        ? first is "src" or "tests" or "samples" or "docs" or "build" or ".ci" || featureFolders.Contains(first)
                        : path.EndsWith(".cs", StringComparison.Ordinal);
                    if (cited && !Exists(root, path, files, featureFolders.Contains(first)))
                    {
                        problems.Add($"{document}:{lineNumber}: {path} does not exist");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, "Cited paths that do not exist:\n" + string.Join('\n', problems.Distinct()));
    }

    /// <summary>A path from the repository root; a feature path under src/HealthKit or tests/HealthKit.Tests, with or without <c>.cs</c>; a file name anywhere.</summary>
    private static bool Exists(string root, string path, List<string> files, bool feature)
    {
        if (File.Exists(Path.Combine(root, path)) || Directory.Exists(Path.Combine(root, path)))
        {
            return true;
        }

        if (feature)
        {
            foreach (var project in new[] { Path.Combine(root, "src", "HealthKit"), Path.Combine(root, "tests", "HealthKit.Tests") })
            {
                var candidate = Path.Combine(project, path);
                if (File.Exists(candidate) || File.Exists(candidate + ".cs") || Directory.Exists(candidate))
                {
                    return true;
                }
            }

            return false;
        }

        return !path.Contains('/', StringComparison.Ordinal) && files.Exists(f => Path.GetFileName(f) == path);
    }

    /// <summary>The docs and samples that cite files: every markdown file outside build output, and samples/ (deploy files and the sample app's sources).</summary>
    private static IEnumerable<(string Document, string Text)> CitingFiles(string root)
    {
        foreach (var file in TrackedFiles(root))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            var markdown = relative.EndsWith(".md", StringComparison.Ordinal);
            var sample = relative.StartsWith("samples/", StringComparison.Ordinal)
                && Path.GetExtension(relative) is ".cs" or ".json" or ".cshtml" or ".csproj" or ".props" or "" or ".tf" or ".yaml" or ".cfg" or ".conf" or ".vcl";
            if (markdown || sample)
            {
                yield return (relative, File.ReadAllText(file));
            }
        }
    }

    /// <summary>The repository's own files: no build output, no git, no test results.</summary>
    private static List<string> TrackedFiles(string root)
    {
        var files = new List<string>();
        Walk(root);
        return files;

        void Walk(string directory)
        {
            files.AddRange(Directory.GetFiles(directory));
            foreach (var child in Directory.GetDirectories(directory))
            {
                if (Path.GetFileName(child) is not ("bin" or "obj" or ".git" or "TestResults" or "BenchmarkDotNet.Artifacts" or "node_modules"))
                {
                    Walk(child);
                }
            }
        }
    }

    /// <summary>Every <c>[LoggerMessage(...)]</c> of src/: id → name, level and file. Fails on an attribute without all three.</summary>
    private static Dictionary<int, (string Name, string Level, string File)> SourceEvents()
    {
        var root = Repository.Value;
        var events = new Dictionary<int, (string Name, string Level, string File)>();
        foreach (var file in Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (Match attribute in LoggerMessage().Matches(File.ReadAllText(file)))
            {
                var arguments = attribute.Groups[1].Value;
                var id = Regex.Match(arguments, @"\bEventId\s*=\s*(\d+)", RegexOptions.None, TimeSpan.FromSeconds(1));
                var name = Regex.Match(arguments, @"\bEventName\s*=\s*""(\w+)""", RegexOptions.None, TimeSpan.FromSeconds(1));
                var level = Regex.Match(arguments, @"\bLevel\s*=\s*LogLevel\.(\w+)", RegexOptions.None, TimeSpan.FromSeconds(1));
                Assert.True(id.Success && name.Success && level.Success, $"{relative}: a [LoggerMessage] without EventId, EventName and Level: {arguments}");
                var number = int.Parse(id.Groups[1].Value, CultureInfo.InvariantCulture);
                Assert.True(events.TryAdd(number, (name.Groups[1].Value, level.Groups[1].Value, relative)), $"Event id {number} is used twice: {events.GetValueOrDefault(number).File} and {relative}.");
            }
        }

        Assert.NotEmpty(events);
        return events;
    }

    /// <summary>The ways configuration.md may write a default; none when any description will do (null, empty, a delegate).</summary>
    private static string[] Describe(object? value) => value switch
    {
        bool b => [b ? "`true`" : "`false`"],
        string s => [$"`{s}`"],
        Enum e => [$"`{e}`"],
        int i => [i.ToString(CultureInfo.InvariantCulture)],
        TimeSpan t when t == TimeSpan.Zero => ["0"],
        TimeSpan t when t.TotalDays >= 1 && t.TotalDays % 1 == 0 => [$"{t.TotalDays.ToString(CultureInfo.InvariantCulture)} days"],
        TimeSpan t when t.TotalMinutes >= 1 && t.TotalMinutes % 1 == 0 =>
            [$"{t.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min", $"{t.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s"],
        TimeSpan t => [$"{t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s"],
        _ => [],
    };

    /// <summary>The first cell's key without its backticks.</summary>
    private static string KeyCell(Dictionary<string, string> row) => row.First().Value.Trim('`');

    /// <summary>The text of the section that starts with <paramref name="heading"/>, up to the next heading of its level or above.</summary>
    private static string Section(string markdown, string heading)
    {
        var lines = markdown.Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        Assert.True(start >= 0, $"No section '{heading}'.");
        var level = heading.IndexOf(' ', StringComparison.Ordinal);
        var end = Array.FindIndex(lines, start + 1, l => l.StartsWith('#') && l.IndexOf(' ', StringComparison.Ordinal) is var n && n > 0 && n <= level && l[..n].All(c => c == '#'));
        return string.Join('\n', lines[start..(end < 0 ? lines.Length : end)]);
    }

    /// <summary>The rows of every table in <paramref name="section"/> whose header has a column <paramref name="column"/>, as header → cell.</summary>
    private static List<Dictionary<string, string>> Table(string section, string column)
    {
        var rows = new List<Dictionary<string, string>>();
        string[]? header = null;
        foreach (var raw in section.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith('|'))
            {
                header = null;
                continue;
            }

            var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (header is null)
            {
                header = cells;
                continue;
            }

            if (cells.All(c => c.Trim(':').Length > 0 && c.Trim(':').All(ch => ch == '-')) || !header.Contains(column))
            {
                continue;
            }

            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length && i < cells.Length; i++)
            {
                row.TryAdd(header[i], cells[i]);
            }

            rows.Add(row);
        }

        Assert.NotEmpty(rows);
        return rows;
    }

    private static string ReadDoc(string path) => File.ReadAllText(Path.Combine(Repository.Value, path));

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(directory.FullName, "docs")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No repository with a docs folder above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\[LoggerMessage\(([^\]]*)\)\]")]
    private static partial Regex LoggerMessage();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    // A run of path characters with at least one '/' between names, or a name ending in .cs; not the tail of a URL
    // path or an absolute path (not preceded by a path character or '/').
    [GeneratedRegex(@"(?<![\w/.\-:@{$~])(?:[\w.\-]+/)+[\w.\-]+|(?<![\w/.\-])[\w.\-]+\.cs\b")]
    private static partial Regex PathToken();
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.Extensions.Configuration;

namespace HealthKit.Tests.Docs;

/// <summary>
/// Code in docs/*.md, README.md and src/HealthKit/README.md works as printed. Every <c>```csharp</c> block compiles as the Program.cs of a web app: the Web
/// SDK's implicit usings, nullable enabled, warnings as errors, against the ASP.NET Core reference assemblies, HealthKit
/// and the packages this project references (EF Core, Npgsql, AspNetCore.HealthChecks.*). A block that does not create
/// the builder itself gets <c>var builder = WebApplication.CreateBuilder(args);</c> in front of its first statement; a
/// block marked <c>// &lt;fragment&gt;</c> holds declarations only and compiles as a library. Every <c>```json</c>
/// block parses as appsettings.json does, and its <c>DeployHealth</c> section binds to <see cref="DeployHealthOptions"/>
/// with no key left over, so a misspelt or removed option in the docs fails here.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class DocSamplesTests
{
    private const string FragmentMarker = "// <fragment>";
    private const string BuilderLine = "var builder = WebApplication.CreateBuilder(args); ";

    // What Microsoft.NET.Sdk.Web puts in every project with ImplicitUsings enabled.
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Net.Http.Json;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        global using global::Microsoft.AspNetCore.Builder;
        global using global::Microsoft.AspNetCore.Hosting;
        global using global::Microsoft.AspNetCore.Http;
        global using global::Microsoft.AspNetCore.Routing;
        global using global::Microsoft.Extensions.Configuration;
        global using global::Microsoft.Extensions.DependencyInjection;
        global using global::Microsoft.Extensions.Hosting;
        global using global::Microsoft.Extensions.Logging;
        """;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);
    private static readonly Lazy<string> Repository = new(FindRepository);

    public static TheoryData<string, int> CSharpBlocks => Numbered("csharp");

    public static TheoryData<string, int> JsonBlocks => Numbered("json");

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void CSharpBlock_InAWebApp_Compiles(string file, int number)
    {
        var block = Find(file, "csharp", number);

        var errors = Compile(block);

        Assert.True(errors.Count == 0, $"{block.Describe()} does not compile:\n{string.Join('\n', errors)}\n\n{block.Code}");
    }

    [Theory]
    [MemberData(nameof(JsonBlocks))]
    public void JsonBlock_AsAppSettings_ParsesAndBindsEveryDeployHealthKey(string file, int number)
    {
        var block = Find(file, "json", number);

        // The options of the JSON configuration provider: comments and trailing commas are allowed there.
        var parsing = Record.Exception(() =>
        {
            using var _ = JsonDocument.Parse(block.Code, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        });
        Assert.True(parsing is null, $"{block.Describe()} is not valid JSON: {parsing?.Message}");

        using var document = JsonDocument.Parse(block.Code, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var section = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(block.Code)))
            .Build()
            .GetSection(DeployHealthOptions.SectionName);
        var binding = Record.Exception(() => section.Bind(new DeployHealthOptions(), o => o.ErrorOnUnknownConfiguration = true));
        Assert.True(binding is null, $"{block.Describe()}: its {DeployHealthOptions.SectionName} section does not bind to DeployHealthOptions: {binding?.GetBaseException().Message}");
    }

    [Fact]
    public void Docs_CSharpBlocks_AreLabelledSoTheyAreCompiled()
    {
        var blocks = ReadAll();
        var aliased = blocks.Where(b => b.Language is "cs" or "c#" or "C#" or "CSharp").Select(b => b.Describe()).ToList();

        Assert.True(aliased.Count == 0, $"Label C# code ```csharp so that this test compiles it: {string.Join(", ", aliased)}");
        Assert.Contains(blocks, b => b.Language == "csharp");
    }

    /// <summary>The compiler's errors for one block, each with the line of the markdown file it is on.</summary>
    private static List<string> Compile(DocBlock block)
    {
        var fragment = block.Code.Contains(FragmentMarker, StringComparison.Ordinal);
        var code = fragment ? block.Code : WithBuilder(block.Code);
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(ImplicitUsings, ParseOptions, path: "ImplicitUsings.g.cs"),
            CSharpSyntaxTree.ParseText(code, ParseOptions, path: block.File),
        };
        var options = new CSharpCompilationOptions(
            fragment ? OutputKind.DynamicallyLinkedLibrary : OutputKind.ConsoleApplication,
            nullableContextOptions: NullableContextOptions.Enable,
            generalDiagnosticOption: ReportDiagnostic.Error,

            // The SDK's own NoWarn: a reference built against an older framework version than the one referenced.
            specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic>
            {
                ["CS1701"] = ReportDiagnostic.Suppress,
                ["CS1702"] = ReportDiagnostic.Suppress,
            });
        var compilation = CSharpCompilation.Create("DocSample", trees, References.Value, options);

        using var output = new MemoryStream();
        var result = compilation.Emit(output);
        return result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var line = d.Location.IsInSource ? block.FirstLine + d.Location.GetLineSpan().StartLinePosition.Line : block.FirstLine;
                return $"{block.File}:{line}: {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }

    /// <summary>
    /// Puts the builder in front of the block's first statement, after its using directives, on the same line so that
    /// the compiler's line numbers still match the markdown.
    /// </summary>
    private static string WithBuilder(string code)
    {
        if (code.Contains("WebApplication.CreateBuilder", StringComparison.Ordinal))
        {
            return code;
        }

        var root = CSharpSyntaxTree.ParseText(code, ParseOptions).GetCompilationUnitRoot();
        var at = root.Usings.Count > 0 ? root.Usings[^1].FullSpan.End : 0;
        return code.Insert(at, BuilderLine);
    }

    private static TheoryData<string, int> Numbered(string language)
    {
        var data = new TheoryData<string, int>();
        foreach (var block in ReadAll())
        {
            if (block.Language == language)
            {
                data.Add(block.File, block.Number);
            }
        }

        return data;
    }

    private static DocBlock Find(string file, string language, int number) =>
        ReadAll().Single(b => b.File == file && b.Language == language && b.Number == number);

    private static List<DocBlock> ReadAll()
    {
        var docs = Path.Combine(Repository.Value, "docs");
        var blocks = new List<DocBlock>();
        foreach (var path in Directory.GetFiles(docs, "*.md").Order(StringComparer.Ordinal))
        {
            blocks.AddRange(DocBlock.Parse("docs/" + Path.GetFileName(path), File.ReadAllLines(path)));
        }

        // The repository's front page and the package's NuGet page: the first code a user copies.
        foreach (var readme in new[] { "README.md", "src/HealthKit/README.md" })
        {
            blocks.AddRange(DocBlock.Parse(readme, File.ReadAllLines(Path.Combine(Repository.Value, readme))));
        }

        return blocks;
    }

    /// <summary>The repository that holds this test project, found from the test assembly's output directory.</summary>
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

    /// <summary>
    /// The framework from its reference packs (what a project compiles against), and every other assembly the test
    /// process loads from its own directory: HealthKit and the packages it and the tests reference. Without the
    /// packs (a runtime without an SDK), the framework's implementation assemblies stand in.
    /// </summary>
    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var shared = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", ".."));
        var root = Path.GetDirectoryName(shared.TrimEnd(Path.DirectorySeparatorChar))!;
        var packs = new[] { "Microsoft.NETCore.App.Ref", "Microsoft.AspNetCore.App.Ref" }.Select(p => FindPack(root, p)).ToList();
        var usePacks = packs.All(p => p is not null);

        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (usePacks)
        {
            foreach (var pack in packs)
            {
                foreach (var dll in Directory.GetFiles(pack!, "*.dll"))
                {
                    paths[Path.GetFileNameWithoutExtension(dll)] = dll;
                }
            }
        }

        var trusted = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in trusted)
        {
            var framework = path.StartsWith(shared, StringComparison.Ordinal);
            if (!framework || !usePacks)
            {
                paths[Path.GetFileNameWithoutExtension(path)] = path;
            }
        }

        return [.. paths.Values.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }

    private static string? FindPack(string dotnetRoot, string pack)
    {
        var runtime = Environment.Version;
        var versions = Path.Combine(dotnetRoot, "packs", pack);
        if (!Directory.Exists(versions))
        {
            return null;
        }

        var best = Directory.GetDirectories(versions)
            .Select(d => (Path: d, Version: Version.TryParse(Path.GetFileName(d), out var v) ? v : null))
            .Where(d => d.Version is not null && d.Version.Major == runtime.Major && d.Version.Minor == runtime.Minor)
            .OrderByDescending(d => d.Version == new Version(runtime.Major, runtime.Minor, runtime.Build))
            .ThenByDescending(d => d.Version)
            .Select(d => Path.Combine(d.Path, "ref", $"net{runtime.Major}.{runtime.Minor}"))
            .FirstOrDefault(Directory.Exists);
        return best;
    }

    /// <summary>One fenced code block of a markdown file, numbered per language within its file.</summary>
    private sealed record DocBlock(string File, string Language, int Number, int FirstLine, string Code)
    {
        public string Describe() => $"{File}, {Language} block {Number} (line {FirstLine})";

        public static IEnumerable<DocBlock> Parse(string file, string[] lines)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < lines.Length; i++)
            {
                var fence = lines[i].TrimStart();
                if (!fence.StartsWith("```", StringComparison.Ordinal))
                {
                    continue;
                }

                var indent = lines[i].Length - fence.Length;
                var language = fence[3..].Trim().Split(' ', 2)[0];
                var code = new StringBuilder();
                var start = i + 1;
                for (i = start; i < lines.Length && lines[i].Trim() != "```"; i++)
                {
                    var line = lines[i];
                    var strip = Math.Min(indent, line.Length - line.TrimStart().Length);
                    code.Append(line, strip, line.Length - strip).Append('\n');
                }

                counts[language] = counts.GetValueOrDefault(language) + 1;
                yield return new DocBlock(file, language, counts[language], start + 1, code.ToString());
            }
        }
    }
}

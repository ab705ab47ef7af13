// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// Packing as users and release pipelines do: plain <c>dotnet pack</c>, no artifacts path. The collection's feed
/// was packed that way on a fresh copy of the tree (in the project's folder, no <c>-o</c>); here the built copy is
/// packed again with <c>-o</c> and from its root, and the package goes into a fresh <c>dotnet new web</c> app with
/// the README's one line and nothing else.
/// </summary>
[Trait("Category", "Install")]
[Collection("install")]
public sealed class PlainPackTests(LocalPackageFeed feed)
{
    [Fact]
    public async Task Pack_BuiltCopyOfTheTreeWithAndWithoutOutputFolder_WritesThePackage()
    {
        var version = feed.Version + ".again";
        var output = Path.Combine(feed.Root.FullName, "feed-again");

        await LocalPackageFeed.RunAsync("dotnet pack -o (built tree, project folder)", ["pack", "-c", "Release", "-o", output, $"-p:Version={version}"], feed.ProjectFolder);
        await LocalPackageFeed.RunAsync("dotnet pack src/HealthKit (built tree, repository root)", ["pack", Path.Combine("src", "HealthKit"), "-c", "Release", $"-p:Version={version}"], feed.Tree);

        Assert.True(File.Exists(Path.Combine(output, $"HealthKit.{version}.nupkg")), "dotnet pack -o wrote no package into its output folder.");
        Assert.True(File.Exists(Path.Combine(feed.ProjectFolder, "bin", "Release", $"HealthKit.{version}.nupkg")), "dotnet pack wrote no package into bin/Release.");
    }

    [Fact]
    public async Task Install_PlainlyPackedPackageInFreshWebApp_HealthAnswers200()
    {
        const string BuilderLine = "var builder = WebApplication.CreateBuilder(args);";
        var template = await TemplateApp.CreateAsync(
            feed,
            "web",
            program =>
            {
                Assert.Contains(BuilderLine, program, StringComparison.Ordinal);
                return "using HealthKit;\n" + program.Replace(BuilderLine, BuilderLine + "\nbuilder.Services.AddDeployHealth();", StringComparison.Ordinal);
            },
            new Dictionary<string, string>());
        await using var app = await template.StartAsync();

        RawResponse? health = null;
        await ServerHost.WaitUntilAsync(
            "/health answering 200",
            async () => (health = await RawHttp.GetAsync(app.Address, "/health", "10.0.3.7:8080")).Status == 200,
            TimeSpan.FromSeconds(60));
        Assert.Equal("""{"status":"pass"}""", health!.Body);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Packaging;

/// <summary>
/// An app made the way a user makes one: <c>dotnet new</c>, <c>dotnet add package HealthKit</c>, the README's two
/// lines, then hardened as production apps are (AllowedHosts, HTTPS redirection with HSTS, forwarded headers, a
/// fallback policy requiring an authenticated user, a global rate limiter), built, and run as its own process.
/// </summary>
public sealed class TemplateApp
{
    public const string AllowedHost = "www.example.com";

    /// <summary>Permits per window of the app's global rate limiter: far fewer than the probes a test sends.</summary>
    public const int RateLimit = 3;

    private static int s_apps;

    private const string BuilderLine = "var builder = WebApplication.CreateBuilder(args);";
    private const string AppLine = "var app = builder.Build();";
    private const string AuthorizationLine = "app.UseAuthorization();";

    private const string Usings = """
        using HealthKit;
        using System.Threading.RateLimiting;
        using Microsoft.AspNetCore.Authentication.Cookies;
        using Microsoft.AspNetCore.Authorization;
        using Microsoft.AspNetCore.DataProtection;
        using Microsoft.AspNetCore.HttpOverrides;

        """;

    // The README's one line, right where it says to put it.
    private const string HealthKitLine = "builder.Services.AddDeployHealth();";

    // Added just before Build, after the template's own services: a real app registers its services after
    // HealthKit's line too, and HealthKit must still end up in front.
    private static readonly string HardeningServices = $$"""
        builder.Services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);
        builder.Services.AddDataProtection().SetApplicationName("installed-app").PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(builder.Environment.ContentRootPath, "shared-keys")));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = 429;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ =>
                RateLimitPartition.GetFixedWindowLimiter("all", _ => new FixedWindowRateLimiterOptions { PermitLimit = {{RateLimit}}, Window = TimeSpan.FromMinutes(10) }));
        });

        """;

    private TemplateApp(string template, string directory)
    {
        Template = template;
        Directory = directory;
    }

    /// <summary>The <c>dotnet new</c> template the app was made from.</summary>
    public string Template { get; }

    public string Directory { get; }

    private string Assembly => Path.Combine(Directory, "bin", "Release", "net10.0", "InstalledApp.dll");

    /// <summary>Creates, edits and builds the app for <paramref name="style"/> against the package in <paramref name="feed"/>.</summary>
    public static Task<TemplateApp> CreateAsync(LocalPackageFeed feed, TemplateStyle style) => CreateAsync(feed, TemplateName(style));

    /// <summary>
    /// Creates, edits and builds a <c>dotnet new grpc</c> app: HTTP/2 only (the template's
    /// <c>Kestrel:EndpointDefaults:Protocols</c>), with its Greeter service, hardened like the others.
    /// </summary>
    public static Task<TemplateApp> CreateGrpcAsync(LocalPackageFeed feed) => CreateAsync(feed, "grpc", Harden, new Dictionary<string, string>());

    /// <summary>Creates, edits and builds an app from the <c>dotnet new</c> template named <paramref name="template"/>.</summary>
    public static Task<TemplateApp> CreateAsync(LocalPackageFeed feed, string template) => CreateAsync(feed, template, Harden, new Dictionary<string, string>());

    /// <summary>
    /// Creates an app from <paramref name="template"/> with HealthKit added, its Program.cs edited by
    /// <paramref name="editProgram"/> instead of the hardening, and <paramref name="files"/> (paths relative to the
    /// project) added, then builds it. AllowedHosts is restricted as for every other app.
    /// </summary>
    public static Task<TemplateApp> CreateAsync(LocalPackageFeed feed, string template, Func<string, string> editProgram, IDictionary<string, string> files) =>
        CreateAsync(feed, template, editProgram, files, new Dictionary<string, string>());

    /// <summary>
    /// As <see cref="CreateAsync(LocalPackageFeed, string, Func{string, string}, IDictionary{string, string})"/>, with
    /// <paramref name="packages"/> (id → version) added at exactly those versions before HealthKit, the way an app
    /// that already uses them meets the package.
    /// </summary>
    public static async Task<TemplateApp> CreateAsync(
        LocalPackageFeed feed, string template, Func<string, string> editProgram, IDictionary<string, string> files, IReadOnlyDictionary<string, string> packages)
    {
        // One folder per app: two apps from one template in a run (hardened, and with a page of a test's own) must
        // not meet in one folder, where dotnet new refuses to overwrite the first.
        var directory = Path.Combine(feed.Root.FullName, $"{template}-{Interlocked.Increment(ref s_apps)}");
        var project = Path.Combine(directory, "InstalledApp.csproj");
        await LocalPackageFeed.RunAsync($"dotnet new {template}", ["new", template, "-n", "InstalledApp", "-o", directory, "--no-restore"]);

        // Only adds the feed: the machine's own sources (nuget.org) still serve HealthKit's dependencies.
        await File.WriteAllTextAsync(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="healthkit-local" value="{feed.Feed}" />
              </packageSources>
            </configuration>

            """);
        // No restore for these: adding HealthKit next restores them all together, as one graph.
        foreach (var (id, version) in packages)
        {
            await LocalPackageFeed.RunAsync($"dotnet add package {id}", ["add", project, "package", id, "--version", version, "--no-restore"]);
        }

        await LocalPackageFeed.RunAsync("dotnet add package", ["add", project, "package", "HealthKit", "--version", feed.Version]);

        var program = Path.Combine(directory, "Program.cs");
        await File.WriteAllTextAsync(program, editProgram(await File.ReadAllTextAsync(program)));
        foreach (var (path, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, path), text);
        }

        var appSettings = Path.Combine(directory, "appsettings.json");
        var settings = await File.ReadAllTextAsync(appSettings);
        const string AnyHost = "\"AllowedHosts\": \"*\"";
        Assert.Contains(AnyHost, settings, StringComparison.Ordinal);
        await File.WriteAllTextAsync(appSettings, settings.Replace(AnyHost, $"\"AllowedHosts\": \"{AllowedHost}\"", StringComparison.Ordinal));

        await LocalPackageFeed.RunAsync($"dotnet build ({template})", ["build", project, "-c", "Release"]);
        return new TemplateApp(template, directory);
    }

    /// <summary>
    /// Runs the built app in Production with HTTPS port 443, on 127.0.0.1 and a free port, with
    /// <paramref name="environment"/> (<c>NAME=value</c>) besides.
    /// </summary>
    public Task<RunningApp> StartAsync(params string[] environment) => ServerHost.StartOnFreePortAsync(async port =>
    {
        // env execs dotnet, which runs the app in its own process: the PID is the app's, to stop it by.
        var process = ServerProcess.Start(
            ServerHost.FindExecutable("env", "coreutils"),
            [
                "ASPNETCORE_ENVIRONMENT=Production",
                "ASPNETCORE_HTTPS_PORT=443",
                .. environment,
                LocalPackageFeed.Dotnet, Assembly, "--urls", $"http://127.0.0.1:{port}",
            ],
            Directory);
        try
        {
            await ServerHost.WaitForPortAsync(port, process, TimeSpan.FromSeconds(60));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return new RunningApp(process, new Uri($"http://127.0.0.1:{port}"));
    });

    public override string ToString() => Template;

    /// <summary>The edits a user makes to the template's Program.cs, as text, so the template's own code stays as generated.</summary>
    internal static string Harden(string program)
    {
        Assert.Contains(BuilderLine, program, StringComparison.Ordinal);
        Assert.Contains(AppLine, program, StringComparison.Ordinal);

        var text = Usings + program.Replace(BuilderLine, BuilderLine + "\n" + HealthKitLine, StringComparison.Ordinal);

        var pipeline = "app.UseForwardedHeaders();\n";
        if (!text.Contains("app.UseHsts();", StringComparison.Ordinal))
        {
            pipeline += "app.UseHsts();\n";
        }

        if (!text.Contains("app.UseHttpsRedirection();", StringComparison.Ordinal))
        {
            pipeline += "app.UseHttpsRedirection();\n";
        }

        // Razor Pages and MVC templates authorize after UseRouting; the limiter and authentication go just before.
        // Templates without authorization (blazor, webapi) get it right after their HTTPS redirection, as their docs
        // place it, so that HSTS and the redirect still come first.
        const string Guards = "app.UseRateLimiter();\napp.UseAuthentication();\n";
        const string RedirectionLine = "app.UseHttpsRedirection();";
        if (text.Contains(AuthorizationLine, StringComparison.Ordinal))
        {
            text = text.Replace(AuthorizationLine, Guards + AuthorizationLine, StringComparison.Ordinal);
        }
        else if (text.Contains(RedirectionLine, StringComparison.Ordinal))
        {
            text = text.Replace(RedirectionLine, RedirectionLine + "\n" + Guards + AuthorizationLine, StringComparison.Ordinal);
        }
        else
        {
            pipeline += Guards + AuthorizationLine + "\n";
        }

        return text.Replace(AppLine, HardeningServices + AppLine + "\n" + pipeline, StringComparison.Ordinal);
    }

    private static string TemplateName(TemplateStyle style) => style switch
    {
        TemplateStyle.Web => "web",
        TemplateStyle.WebApp => "webapp",
        TemplateStyle.Mvc => "mvc",
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, null),
    };
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.RegularExpressions;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real Apache httpd in the foreground with the proxy, balancer and health-check modules, everything it writes
/// (pid, error log, shared memory) inside a temp directory. The test supplies the proxy configuration; what Apache
/// thinks of a balancer member is read from its balancer-manager page, as an operator would.
/// </summary>
public sealed partial class ApacheServer : IAsyncDisposable
{
    private const string Modules = "/usr/lib/apache2/modules";

    private readonly ServerProcess _process;
    private readonly DirectoryInfo _root;

    private ApacheServer(ServerProcess process, DirectoryInfo root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public string ErrorLog
    {
        get
        {
            var path = Path.Combine(_root.FullName, "error.log");
            return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        }
    }

    /// <summary>Starts httpd with <paramref name="proxyConfig"/> after the modules and server settings, on a free port.</summary>
    /// <exception cref="InvalidOperationException">Apache is not installed, or exited (the message has its error log).</exception>
    public static async Task<ApacheServer> StartAsync(string proxyConfig)
    {
        ArgumentException.ThrowIfNullOrEmpty(proxyConfig);
        var binary = ServerHost.FindExecutable("apache2", "apache2");
        var root = ServerHost.CreateTempDirectory("apache");

        // Run as root, httpd's children run as www-data and must reach the temp directory.
        if (!OperatingSystem.IsWindows())
        {
            root.UnixFileMode |= UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        }

        try
        {
            return await ServerHost.StartOnFreePortAsync(async port =>
            {
                var file = Path.Combine(root.FullName, "httpd.conf");
                await File.WriteAllTextAsync(file, Wrap(root.FullName, port, proxyConfig));
                var process = ServerProcess.Start(binary, ["-f", file, "-DFOREGROUND"], root.FullName);
                try
                {
                    await ServerHost.WaitForPortAsync(port, process);
                    return new ApacheServer(process, root, port);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    await process.DisposeAsync();
                    var log = Path.Combine(root.FullName, "error.log");
                    throw new InvalidOperationException($"{e.Message}\nerror log:\n{(File.Exists(log) ? await File.ReadAllTextAsync(log) : string.Empty)}", e);
                }
            });
        }
        catch
        {
            ServerHost.DeleteTempDirectory(root);
            throw;
        }
    }

    /// <summary>The Status cell of the balancer-manager for the first member of <paramref name="balancer"/>: "Init Ok", "Init HcFl"...</summary>
    public async Task<string> GetMemberStatusAsync(string balancer)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var page = await client.GetStringAsync(new Uri(Address, "/balancer-manager"));
        var start = page.IndexOf($">balancer://{balancer}<", StringComparison.Ordinal);
        var match = start < 0 ? Match.Empty : StatusCell().Match(page, start);
        return match.Success ? match.Groups["status"].Value.Trim() : throw new InvalidOperationException($"No member status for balancer://{balancer} in:\n{page}");
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM to the parent: it stops its children before exiting.
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        ServerHost.DeleteTempDirectory(_root);
    }

    private static string Wrap(string root, int port, string proxyConfig)
    {
        var modules = new[] { "mpm_event", "authz_core", "authz_host", "slotmem_shm", "proxy", "proxy_http", "proxy_balancer", "proxy_hcheck", "lbmethod_byrequests" };
        var load = string.Join('\n', modules.Select(m => $"LoadModule {m}_module {Modules}/mod_{m}.so"));
        return $"""
            ServerRoot {root}
            Listen 127.0.0.1:{port}
            ServerName 127.0.0.1
            PidFile {root}/httpd.pid
            DefaultRuntimeDir {root}
            ErrorLog {root}/error.log
            LogLevel warn
            User www-data
            Group www-data
            {load}
            {proxyConfig}
            """;
    }

    [GeneratedRegex(@"<td>(?<status>Init [^<]*)</td>")]
    private static partial Regex StatusCell();
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real Caddy (<c>caddy run</c>) with a Caddyfile in a temp directory, automatic HTTPS off, its admin API on a port of
/// its own and its data and config directories inside the temp directory.
/// </summary>
public sealed class CaddyServer : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly DirectoryInfo _root;

    private CaddyServer(ServerProcess process, DirectoryInfo root, int port, int adminPort)
    {
        _process = process;
        _root = root;
        Port = port;
        AdminPort = adminPort;
    }

    public int Port { get; }

    public int AdminPort { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public string Output => _process.Output;

    /// <summary>
    /// Starts Caddy with the site block(s) <paramref name="buildSites"/> returns for a free port (they must serve
    /// <c>http://127.0.0.1:port</c>), and returns once that port accepts connections.
    /// </summary>
    /// <exception cref="InvalidOperationException">Caddy is not installed, or exited (the message has its output).</exception>
    public static async Task<CaddyServer> StartAsync(Func<int, string> buildSites)
    {
        ArgumentNullException.ThrowIfNull(buildSites);
        var binary = ServerHost.FindExecutable("caddy", "caddy");
        var root = ServerHost.CreateTempDirectory("caddy");
        try
        {
            return await ServerHost.StartOnFreePortAsync(async port =>
            {
                var admin = ServerHost.GetFreePort();
                var file = Path.Combine(root.FullName, "Caddyfile");
                await File.WriteAllTextAsync(file, $"{{\n\tadmin 127.0.0.1:{admin}\n\tauto_https off\n\tstorage file_system {root.FullName}/data\n}}\n\n{buildSites(port)}\n");
                var process = ServerProcess.Start(binary, ["run", "--config", file, "--adapter", "caddyfile"], root.FullName, configure: info =>
                {
                    info.Environment["HOME"] = root.FullName;
                    info.Environment["XDG_DATA_HOME"] = root.FullName;
                    info.Environment["XDG_CONFIG_HOME"] = root.FullName;
                });
                try
                {
                    await ServerHost.WaitForPortAsync(port, process);
                    return new CaddyServer(process, root, port, admin);
                }
                catch
                {
                    await process.DisposeAsync();
                    throw;
                }
            });
        }
        catch
        {
            ServerHost.DeleteTempDirectory(root);
            throw;
        }
    }

    /// <summary>The upstream addresses of the admin API's <c>/reverse_proxy/upstreams</c>.</summary>
    public async Task<IReadOnlyList<string>> GetUpstreamsAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri($"http://127.0.0.1:{AdminPort}/reverse_proxy/upstreams")));
        return document.RootElement.EnumerateArray().Select(u => u.GetProperty("address").GetString() ?? string.Empty).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        ServerHost.DeleteTempDirectory(_root);
    }
}

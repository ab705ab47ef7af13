// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real nginx in the foreground, everything it writes (pid, error log, temp paths) inside a temp directory, so it
/// runs beside any system nginx and leaves nothing behind. The test supplies the inside of the <c>http</c> block.
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly DirectoryInfo _root;

    private NginxServer(ServerProcess process, DirectoryInfo root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    /// <summary>The port given to the configuration for its <c>listen</c>.</summary>
    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    /// <summary>nginx's error log so far (it logs there, not to stdout).</summary>
    public string ErrorLog
    {
        get
        {
            var path = Path.Combine(_root.FullName, "error.log");
            return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        }
    }

    /// <summary>
    /// Starts nginx with an <c>http</c> block holding what <paramref name="buildHttpBlock"/> returns for a free port
    /// (servers, upstreams; it must <c>listen 127.0.0.1:port</c>), and returns once that port accepts connections.
    /// </summary>
    /// <exception cref="InvalidOperationException">nginx is not installed, or exited (the message has its error log).</exception>
    public static async Task<NginxServer> StartAsync(Func<int, string> buildHttpBlock)
    {
        ArgumentNullException.ThrowIfNull(buildHttpBlock);
        var binary = ServerHost.FindExecutable("nginx", "nginx");
        var root = ServerHost.CreateTempDirectory("nginx");

        // Run as root, nginx's workers run as nobody and must reach the temp paths inside this directory.
        if (!OperatingSystem.IsWindows())
        {
            root.UnixFileMode |= UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        }

        var errorLog = Path.Combine(root.FullName, "error.log");
        try
        {
            return await ServerHost.StartOnFreePortAsync(async port =>
            {
                var config = Path.Combine(root.FullName, "nginx.conf");
                await File.WriteAllTextAsync(config, WrapConfig(root.FullName, buildHttpBlock(port)));
                var process = ServerProcess.Start(binary, ["-e", errorLog, "-p", root.FullName + "/", "-c", config, "-g", "daemon off;"], root.FullName);
                try
                {
                    await ServerHost.WaitForPortAsync(port, process);
                    return new NginxServer(process, root, port);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    await process.DisposeAsync();
                    var log = File.Exists(errorLog) ? await File.ReadAllTextAsync(errorLog) : string.Empty;
                    throw new InvalidOperationException($"{e.Message}\nnginx error log:\n{log}", e);
                }
            });
        }
        catch
        {
            ServerHost.DeleteTempDirectory(root);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM to the master: it stops its workers before exiting, so none is orphaned.
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        ServerHost.DeleteTempDirectory(_root);
    }

    private static string WrapConfig(string root, string httpBlock) => $$"""
        worker_processes 1;
        pid {{root}}/nginx.pid;
        error_log {{root}}/error.log info;
        events {
            worker_connections 1024;
        }
        http {
            access_log off;
            client_body_temp_path {{root}}/client_body;
            proxy_temp_path {{root}}/proxy;
            fastcgi_temp_path {{root}}/fastcgi;
            uwsgi_temp_path {{root}}/uwsgi;
            scgi_temp_path {{root}}/scgi;
        {{httpBlock}}
        }
        """;
}

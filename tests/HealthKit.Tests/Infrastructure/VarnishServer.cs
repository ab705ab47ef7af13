// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real Varnish in the foreground (<c>-F</c>), its VCL and working directory in a temp directory, its admin port
/// picked by the kernel. What Varnish thinks of a backend is read with <c>varnishadm backend.list</c>, as an operator would.
/// </summary>
public sealed class VarnishServer : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly DirectoryInfo _root;
    private readonly string _workDirectory;

    private VarnishServer(ServerProcess process, DirectoryInfo root, string workDirectory, int port)
    {
        _process = process;
        _root = root;
        _workDirectory = workDirectory;
        Port = port;
    }

    public int Port { get; }

    public string Output => _process.Output;

    /// <summary>Starts varnishd with the VCL <paramref name="vcl"/> on a free port and returns once it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">Varnish is not installed, or exited (the message has its output).</exception>
    public static async Task<VarnishServer> StartAsync(string vcl)
    {
        ArgumentException.ThrowIfNullOrEmpty(vcl);
        var binary = ServerHost.FindExecutable("varnishd", "varnish");
        var root = ServerHost.CreateTempDirectory("varnish");
        try
        {
            var file = Path.Combine(root.FullName, "default.vcl");
            await File.WriteAllTextAsync(file, vcl);
            return await ServerHost.StartOnFreePortAsync(async port =>
            {
                var work = Path.Combine(root.FullName, $"n{port}");

                // "-j none": no privilege separation, so the worker can read the temp directory when the tests run as root.
                var process = ServerProcess.Start(binary, ["-F", "-j", "none", "-a", $"127.0.0.1:{port}", "-T", "127.0.0.1:0", "-n", work, "-f", file, "-s", "malloc,16m"], root.FullName);
                try
                {
                    await ServerHost.WaitForPortAsync(port, process);
                    return new VarnishServer(process, root, work, port);
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

    /// <summary>The Health column of <c>varnishadm backend.list</c> for a backend: "healthy" or "sick".</summary>
    public async Task<string> GetBackendHealthAsync(string backend)
    {
        var varnishadm = ServerHost.FindExecutable("varnishadm", "varnish");
        var (exitCode, output) = await ServerHost.RunAsync(varnishadm, ["-n", _workDirectory, "backend.list"], TimeSpan.FromSeconds(20));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"varnishadm backend.list exited {exitCode}: {output}");
        }

        foreach (var line in output.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 4 && fields[0].EndsWith("." + backend, StringComparison.Ordinal))
            {
                return fields[3];
            }
        }

        throw new InvalidOperationException($"varnishadm lists no backend {backend}:\n{output}");
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(UnixSignal.Terminate, TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        ServerHost.DeleteTempDirectory(_root);
    }
}

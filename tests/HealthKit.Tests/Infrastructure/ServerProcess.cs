// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Diagnostics;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A server started as a child process, with the last lines of its output kept for failure messages.
/// Stopped by signalling its PID, never by name, so servers of parallel tests (or of the machine) are untouched.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly int _keptLines;
    private readonly Queue<string> _output = new();

    private ServerProcess(Process process, int keptLines)
    {
        _process = process;
        _keptLines = keptLines;
    }

    /// <summary>The PID of the child: the server itself, or <c>runuser</c> when the server runs as another user.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote to stdout and stderr.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/>, as <paramref name="runAsUser"/> through <c>runuser</c> when given.
    /// <paramref name="configure"/> adjusts the start (its environment, say); the last <paramref name="keptLines"/>
    /// lines of output are kept.
    /// </summary>
    public static ServerProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        string? runAsUser = null,
        Action<ProcessStartInfo>? configure = null,
        int keptLines = 200)
    {
        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        if (runAsUser is null)
        {
            info.FileName = fileName;
        }
        else
        {
            info.FileName = ServerHost.FindExecutable("runuser", "util-linux");
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(runAsUser);
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        configure?.Invoke(info);
        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process, keptLines);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits for the process to exit; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to <paramref name="pid"/> (the child when null) and waits for the child to exit;
    /// after <paramref name="grace"/> kills the child's whole process tree, so no server outlives its test.
    /// Returns whether it exited on the signal alone.
    /// </summary>
    public async Task<bool> StopAsync(UnixSignal signal, TimeSpan grace, int? pid = null)
    {
        if (_process.HasExited)
        {
            return true;
        }

        ServerHost.Signal(pid ?? _process.Id, signal);
        if (await WaitForExitAsync(grace))
        {
            return true;
        }

        Keep($"[fixture] no exit {grace.TotalSeconds:0} s after {signal}; killing the process tree");
        if (pid is not null)
        {
            ServerHost.Signal(pid.Value, UnixSignal.Kill);
        }

        _process.Kill(entireProcessTree: true);
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > _keptLines)
            {
                _output.Dequeue();
            }
        }
    }
}

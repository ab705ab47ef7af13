// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text.RegularExpressions;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A bounded wrk run against a loopback address (<c>-t2 -c16</c>, a fixed duration), started in the background and
/// read once it has exited: requests, non-2xx/3xx answers and socket errors.
/// </summary>
public sealed partial class WrkLoad : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly TimeSpan _duration;

    private WrkLoad(ServerProcess process, TimeSpan duration)
    {
        _process = process;
        _duration = duration;
    }

    public long Requests { get; private set; }

    public long Non2xx { get; private set; }

    public long SocketErrors { get; private set; }

    public string Output => _process.Output;

    public static WrkLoad Start(Uri address, TimeSpan duration) =>
        new(ServerProcess.Start(
            ServerHost.FindExecutable("wrk", "wrk"),
            ["-t2", "-c16", $"-d{duration.TotalSeconds:0}s", address.ToString()],
            Path.GetTempPath()), duration);

    /// <summary>Waits for wrk to finish its run and reads its summary.</summary>
    /// <exception cref="TimeoutException">wrk ran 10 s past its duration.</exception>
    public async Task<WrkLoad> CompleteAsync()
    {
        if (!await _process.WaitForExitAsync(_duration + TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"wrk still ran 10 s after its {_duration.TotalSeconds:0} s. Output:\n{Output}");
        }

        var text = Output;
        var requests = RequestsLine().Match(text);
        if (!requests.Success)
        {
            throw new InvalidOperationException($"No summary in wrk's output:\n{text}");
        }

        Requests = long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = Non2xxLine().Match(text);
        Non2xx = non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var errors = SocketErrorsLine().Match(text);
        SocketErrors = errors.Success ? Enumerable.Range(1, 4).Sum(i => long.Parse(errors.Groups[i].Value, CultureInfo.InvariantCulture)) : 0;
        return this;
    }

    public override string ToString() => $"{Requests} requests, {Non2xx} non-2xx/3xx, {SocketErrors} socket errors";

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using HealthKit.Doors.Connection;
using HealthKit.Probing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// Once the server listens, sends one request the way an AWS ALB would (plain HTTP, an IP address as Host) to
/// HealthKit's own liveness path over loopback. Anything but 200 means something answers in front of HealthKit,
/// and every balancer would pull the instance: say so in the log at start, not after the first deploy.
/// </summary>
/// <remarks>
/// It costs the start nothing: it runs on the thread pool with HealthKit's other start-up work (<see cref="StartupWork"/>:
/// once the app has answered its first request, or shortly after start when nobody asks), and speaks HTTP/1.1
/// over a raw loopback socket instead of <c>HttpClient</c>, which would load System.Net.Http, its handlers and name
/// resolution into an app that may never use them. One request line and one status line are all the proof needs.
/// </remarks>
internal sealed partial class ProbeSelfTest(
    IServiceProvider services,
    StartupWork startup,
    ProbeRoute paths,
    IOptions<DeployHealthOptions> options,
    ILogger<ProbeSelfTest> logger)
{
    internal const string ProbeHost = "10.0.0.5:8080";
    private const int MaxHeadBytes = 16 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;
    private int _stopped;
    private int _queued;

    /// <summary>Gets a task that completes once the self-test has reported (at once when it is switched off).</summary>
    internal Task Completion => _completion.Task;

    /// <summary>Called by <see cref="StartupReports"/> while the host starts: queues the test for HealthKit's start-up work.</summary>
    public void Start()
    {
        // A generic host (the worker template) has no HTTP server and so nothing to test: skipped, not an error.
        if (options.Value.SelfTest && services.GetService<IServer>() is not null)
        {
            _registration = startup.Begun.Register(static s => ((ProbeSelfTest)s!).Queue(), this);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    public async Task StopAsync()
    {
        // A host may be stopped twice (StopAsync, then again when RunAsync ends or a test host is disposed): only
        // the first stop cancels and disposes.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        // Once the registration is disposed its callback has run or never will: a test that never started leaves
        // nothing to wait for.
        await _registration.DisposeAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _queued) == 0)
        {
            _completion.TrySetResult();
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _completion.Task.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void Queue()
    {
        Volatile.Write(ref _queued, 1);

        // Off the start-up path: the host's start and the first requests come first.
        ThreadPool.UnsafeQueueUserWorkItem(
            static self => _ = self.RunGuardedAsync(),
            this,
            preferLocal: false);
    }

    private async Task RunGuardedAsync()
    {
        try
        {
            await RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _completion.TrySetResult();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;

        // An HTTP/2-only endpoint (dotnet new grpc) refuses the HTTP/1.1 request with 400 by design; no HTTP/1.x
        // prober can use it, which Http2OnlyWarning says, and the gRPC door answers its probes.
        var door = services.GetService<ConnectionDoor>();
        var target = PickTarget(addresses, port => door?.RefusesHttp1(port) == true);
        if (target is null)
        {
            // TestServer and servers that listen on no TCP address: there is nothing to send a request to.
            if (PickTarget(addresses) is { } http2Only)
            {
                Log.SkippedHttp2Only(logger, http2Only);
            }

            return;
        }

        var uri = new Uri(target, paths.Liveness);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(RequestTimeout);
            var (status, location) = await SendAsync(uri, timeout.Token).ConfigureAwait(false);
            // 503 is HealthKit's own answer too, when a check the app tagged "live" fails; what the self-test looks
            // for is a redirect, a 400 or a 404 from something that answered instead of HealthKit.
            if (status is (int)HttpStatusCode.OK or (int)HttpStatusCode.ServiceUnavailable)
            {
                Log.Passed(logger, uri);
            }
            else
            {
                Log.Failed(logger, uri, ProbeHost, status, location ?? "none");
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
            Log.Error(logger, uri, $"no answer within {RequestTimeout.TotalSeconds:0} s");
        }
#pragma warning disable CA1031 // The self-test only reports; it must never take the application down.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.Error(logger, uri, exception.Message);
        }
    }

    /// <summary>GET over a socket of its own; returns the status code and the Location header, if any.</summary>
    private static async Task<(int Status, string? Location)> SendAsync(Uri uri, CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(uri.IdnHost);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(address, uri.Port), cancellationToken).ConfigureAwait(false);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            if (uri.Scheme == Uri.UriSchemeHttps)
            {
                stream = await WrapInTlsAsync(stream, uri, cancellationToken).ConfigureAwait(false);
            }

            var request = string.Create(
                CultureInfo.InvariantCulture,
                $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {ProbeHost}\r\nUser-Agent: HealthKit-SelfTest/1.0\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken).ConfigureAwait(false);

            var buffer = new byte[MaxHeadBytes];
            var filled = 0;
            int end;
            while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (filled == buffer.Length)
                {
                    throw new InvalidDataException($"The response head is longer than {MaxHeadBytes} bytes.");
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidDataException(filled == 0
                        ? "The connection was closed without a response."
                        : "The connection was closed in the middle of the response head.");
                }

                filled += read;
            }

            return ParseHead(Encoding.ASCII.GetString(buffer, 0, end));
        }
        finally
        {
            // The TLS stream when there is one, which disposes the network stream under it.
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Only when the app listens on HTTPS alone, so it has loaded TLS already. A method of its own, so that
    /// compiling <see cref="SendAsync"/> for a plain-HTTP app does not load System.Net.Security. The certificate is
    /// the app's own, checked here against nothing: the point is what answers, not who.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<Stream> WrapInTlsAsync(Stream stream, Uri uri, CancellationToken cancellationToken)
    {
        var tls = new SslStream(stream, leaveInnerStreamOpen: false, static (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost }, cancellationToken).ConfigureAwait(false);
        return tls;
    }

    /// <summary>The status code of an HTTP/1.x status line, and the Location header among the headers after it.</summary>
    internal static (int Status, string? Location) ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var statusLine = lines[0];
        var firstSpace = statusLine.IndexOf(' ', StringComparison.Ordinal);
        if (!statusLine.StartsWith("HTTP/1.", StringComparison.Ordinal)
            || firstSpace < 0
            || statusLine.Length < firstSpace + 4
            || !int.TryParse(statusLine.AsSpan(firstSpace + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new InvalidDataException($"Not an HTTP/1.x status line: '{statusLine}'.");
        }

        string? location = null;
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && lines[i].AsSpan(0, colon).Trim().Equals("Location", StringComparison.OrdinalIgnoreCase))
            {
                location = lines[i][(colon + 1)..].Trim();
            }
        }

        return (status, location);
    }

    /// <summary>Prefers a plain-HTTP address, as balancers probe over HTTP; wildcard hosts become loopback.</summary>
    internal static Uri? PickTarget(ICollection<string>? addresses, Func<int, bool>? refusesHttp1 = null)
    {
        if (addresses is null)
        {
            return null;
        }

        Uri? https = null;
        foreach (var address in addresses)
        {
            var uri = ToLoopback(address);
            if (uri is null || refusesHttp1?.Invoke(uri.Port) == true)
            {
                continue;
            }

            if (uri.Scheme == Uri.UriSchemeHttp)
            {
                return uri;
            }

            https ??= uri;
        }

        return https;
    }

    private static Uri? ToLoopback(string address)
    {
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return null;
        }

        var scheme = address[..schemeEnd];
        var hostAndPort = address[(schemeEnd + 3)..].TrimEnd('/');
        var portStart = hostAndPort.LastIndexOf(':');
        if (portStart < 0 || hostAndPort.EndsWith(']'))
        {
            return null;
        }

        var host = hostAndPort[..portStart];
        var port = hostAndPort[(portStart + 1)..];
        var loopback = host switch
        {
            "[::]" or "[::1]" => "[::1]",
            _ when IPAddress.TryParse(host, out var ip) && !ip.Equals(IPAddress.Any) => host,
            _ => "127.0.0.1",
        };
        return Uri.TryCreate($"{scheme}://{loopback}:{port}/", UriKind.Absolute, out var uri) ? uri : null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, EventName = "SelfTestPassed", Level = LogLevel.Debug,
            Message = "HealthKit self-test: {Uri} answered 200 to a probe with an IP Host header.")]
        public static partial void Passed(ILogger logger, Uri uri);

        [LoggerMessage(EventId = 11, EventName = "SelfTestFailed", Level = LogLevel.Error,
            Message = "HealthKit self-test: GET {Uri} with Host {ProbeHost}, as a load balancer sends it, got {StatusCode} (Location: {Location}) instead of HealthKit's 200. Something in front of HealthKit answers probes (a startup filter or server option); load balancers will take this instance out of service.")]
        public static partial void Failed(ILogger logger, Uri uri, string probeHost, int statusCode, string location);

        [LoggerMessage(EventId = 13, EventName = "SelfTestSkipped", Level = LogLevel.Debug,
            Message = "HealthKit self-test skipped: every endpoint ({Uri} first) speaks HTTP/2 only, where an HTTP/1.1 probe gets 400 by design; the gRPC door answers probes there.")]
        public static partial void SkippedHttp2Only(ILogger logger, Uri uri);

        [LoggerMessage(EventId = 12, EventName = "SelfTestError", Level = LogLevel.Error,
            Message = "HealthKit self-test: GET {Uri} failed: {Reason}. Load balancers may not reach the probe endpoint either.")]
        public static partial void Error(ILogger logger, Uri uri, string reason);
    }
}

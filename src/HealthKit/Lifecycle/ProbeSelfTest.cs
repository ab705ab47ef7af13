// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Doors.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// Once the server listens, sends one request the way an AWS ALB would (plain HTTP, an IP address as Host) to
/// HealthKit's own liveness path over loopback. Anything but 200 means something answers in front of HealthKit,
/// and every balancer would pull the instance: say so in the log at start, not after the first deploy.
/// </summary>
internal sealed partial class ProbeSelfTest(
    IServer server,
    IHostApplicationLifetime lifetime,
    ProbePaths paths,
    IOptions<DeployHealthOptions> options,
    ILogger<ProbeSelfTest> logger) : IHostedService
{
    internal const string ProbeHost = "10.0.0.5:8080";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private CancellationTokenRegistration _registration;
    private Task _run = Task.CompletedTask;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.SelfTest)
        {
            _registration = lifetime.ApplicationStarted.Register(() => _run = RunAsync(_stopping.Token));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host may be stopped twice (StopAsync, then again when RunAsync ends or a test host is disposed): only
        // the first stop cancels and disposes.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _registration.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var target = PickTarget(server.Features.Get<IServerAddressesFeature>()?.Addresses);
        if (target is null)
        {
            // TestServer and servers that listen on no TCP address: there is nothing to send a request to.
            return;
        }

        var uri = new Uri(target, paths.Liveness);
        try
        {
            using var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
                ConnectTimeout = RequestTimeout,
                SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
            };
            using var client = new HttpClient(handler) { Timeout = RequestTimeout };
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Host = ProbeHost;
            request.Headers.UserAgent.ParseAdd("HealthKit-SelfTest/1.0");
            using var response = await client.SendAsync(request, stopping).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Log.Passed(logger, uri);
            }
            else
            {
                var location = response.Headers.Location?.ToString() ?? "none";
                Log.Failed(logger, uri, ProbeHost, (int)response.StatusCode, location);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The self-test only reports; it must never take the application down.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.Error(logger, uri, exception.Message);
        }
    }

    /// <summary>Prefers a plain-HTTP address, as balancers probe over HTTP; wildcard hosts become loopback.</summary>
    internal static Uri? PickTarget(ICollection<string>? addresses)
    {
        if (addresses is null)
        {
            return null;
        }

        Uri? https = null;
        foreach (var address in addresses)
        {
            var uri = ToLoopback(address);
            if (uri is null)
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

        [LoggerMessage(EventId = 12, EventName = "SelfTestError", Level = LogLevel.Error,
            Message = "HealthKit self-test: GET {Uri} failed: {Reason}. Load balancers may not reach the probe endpoint either.")]
        public static partial void Error(ILogger logger, Uri uri, string reason);
    }
}

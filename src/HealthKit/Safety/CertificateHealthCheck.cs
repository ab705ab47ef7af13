// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using HealthKit.Lifecycle;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Safety;

/// <summary>
/// The certificates of the server's own HTTPS endpoints, and of configured remote URLs: Degraded within
/// <see cref="DeployHealthCertificateOptions.WarnBeforeExpiry"/> of expiry, Unhealthy when expired or not yet valid. Each
/// certificate is read the way a client sees it, with a TLS handshake, so it covers every way Kestrel can be given
/// one (configuration, code, SNI callbacks). Certificates change rarely: the result is reused for ten minutes.
/// </summary>
internal sealed class CertificateHealthCheck(IServer server, IOptions<DeployHealthOptions> options, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan Reuse = TimeSpan.FromMinutes(10);
    private readonly Lock _gate = new();
    private (HealthCheckResult Result, long At)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_last is { } last && time.GetElapsedTime(last.At) < Reuse)
            {
                return last.Result;
            }
        }

        var result = await InspectAsync(context.Registration.FailureStatus, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _last = (result, time.GetTimestamp());
        }

        return result;
    }

    private async Task<HealthCheckResult> InspectAsync(HealthStatus failureStatus, CancellationToken cancellationToken)
    {
        var targets = new List<(Uri Address, string? ServerName)>();
        foreach (var address in server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            if (address.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && ProbeSelfTest.PickTarget([address]) is { } local)
            {
                targets.Add((local, null));
            }
        }

        foreach (var url in options.Value.Certificates.Urls)
        {
            targets.Add((new Uri(url), new Uri(url).IdnHost));
        }

        if (targets.Count == 0)
        {
            return HealthCheckResult.Healthy("No HTTPS endpoint to inspect.");
        }

        var now = time.GetUtcNow();
        var warning = options.Value.Certificates.WarnBeforeExpiry;
        var worst = HealthStatus.Healthy;
        var notes = new List<string>();
        foreach (var (address, serverName) in targets)
        {
            using var certificate = await ReadCertificateAsync(address, serverName, cancellationToken).ConfigureAwait(false);
            var subject = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            var where = serverName ?? "this server's HTTPS endpoint";
            if (now < notBefore)
            {
                worst = failureStatus;
                notes.Add(Invariant($"The certificate '{subject}' of {where} is not valid before {notBefore:u}."));
            }
            else if (now >= notAfter)
            {
                worst = failureStatus;
                notes.Add(Invariant($"The certificate '{subject}' of {where} expired at {notAfter:u}."));
            }
            else if (notAfter - now <= warning)
            {
                worst = worst == HealthStatus.Healthy ? HealthStatus.Degraded : worst;
                notes.Add(Invariant($"The certificate '{subject}' of {where} expires in {(notAfter - now).TotalDays:0.#} days ({notAfter:u})."));
            }
        }

        return notes.Count == 0
            ? HealthCheckResult.Healthy(Invariant($"{targets.Count} certificate(s) valid for more than {warning.TotalDays:0.#} days."))
            : new HealthCheckResult(worst, string.Join(" ", notes));
    }

    private static async Task<X509Certificate2> ReadCertificateAsync(Uri address, string? serverName, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host.Trim('[', ']'), address.Port, cancellationToken).ConfigureAwait(false);
        X509Certificate2? seen = null;
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            // Validity is what this check judges; accept here so an expired certificate can still be read.
            if (certificate is not null)
            {
                seen = new X509Certificate2(certificate);
            }

            return true;
        });
        await using (ssl.ConfigureAwait(false))
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName ?? "localhost" }, cancellationToken).ConfigureAwait(false);
        }

        return seen ?? throw new InvalidOperationException($"{address} presented no certificate.");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

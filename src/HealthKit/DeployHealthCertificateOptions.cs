// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// The <c>certificates</c> check, under <c>DeployHealth:Certificates</c>: the certificates of the server's HTTPS
/// endpoints and of <see cref="Urls"/>, read with a TLS handshake. Expired or not yet valid certificates are Unhealthy.
/// </summary>
public sealed class DeployHealthCertificateOptions
{
    /// <summary>Gets or sets how long before a certificate expires the check starts reporting it as Degraded.</summary>
    /// <value>The default is 14 days.</value>
    public TimeSpan WarnBeforeExpiry { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Gets HTTPS URLs of other services whose certificates are checked too (for example an API the app calls).</summary>
    /// <value>The default is empty.</value>
    public IList<string> Urls { get; } = new List<string>();
}

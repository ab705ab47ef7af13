// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Evaluation;
using HealthKit.Registry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Safety;

/// <summary>
/// Adds the deploy-safety checks, each only where it applies: Data Protection when the app uses it, sessions when it
/// has them, forwarded headers and certificates in a web host, background services when the app runs any. They
/// follow <see cref="DeployHealthOptions.AutoDiscover"/> and <c>DeployHealth:Checks:{name}:Enabled</c> like the
/// dependency checks.
/// </summary>
internal sealed class SafetyCheckRegistration(RegisteredServices registered, IOptions<DeployHealthOptions> options)
    : IPostConfigureOptions<HealthKitRegistrations>
{
    public const string DataProtectionName = "data_protection";
    public const string SessionsName = "sessions";
    public const string ForwardedHeadersName = "forwarded_headers";
    public const string CertificatesName = "certificates";
    public const string BackgroundServicesName = "background_services";

    /// <summary>How long the key ring's check is reused: it reads the key ring from its store (a blob, a database, Redis), which changes when keys roll, days apart.</summary>
    internal static readonly TimeSpan DataProtectionInterval = TimeSpan.FromMinutes(1);

    /// <summary>How long the certificates' check is reused: a certificate's expiry is weeks away, and reading the files or store costs I/O.</summary>
    internal static readonly TimeSpan CertificatesInterval = TimeSpan.FromHours(1);

    private const string DataProtectionProviderTypeName = "Microsoft.AspNetCore.DataProtection.IDataProtectionProvider";
    private const string SessionStoreTypeName = "Microsoft.AspNetCore.Session.ISessionStore";

    public void PostConfigure(string? optionsName, HealthKitRegistrations target)
    {
        var settings = options.Value;
        if (!settings.AutoDiscover)
        {
            return;
        }

        bool dataProtection = false, sessions = false, server = false, background = false;
        foreach (var descriptor in registered.Services)
        {
            var type = descriptor.ServiceType;
            // By name: typeof(ISessionStore) would load the sessions assembly into every app that has none.
            dataProtection |= string.Equals(type.FullName, DataProtectionProviderTypeName, StringComparison.Ordinal);
            sessions |= string.Equals(type.FullName, SessionStoreTypeName, StringComparison.Ordinal);
            server |= type == typeof(IServer);
            background |= type == typeof(IHostedService)
                && descriptor.ImplementationType is { } implementation
                && typeof(BackgroundService).IsAssignableFrom(implementation)
                && implementation != typeof(BackgroundEvaluation);
        }

        if (dataProtection)
        {
            CheckDiscovery.Add(target, settings, DataProtectionName, ["ready", "safety"], static sp => ActivatorUtilities.CreateInstance<DataProtectionHealthCheck>(sp), DataProtectionInterval);
        }

        if (sessions)
        {
            CheckDiscovery.Add(target, settings, SessionsName, ["ready", "safety"], static sp => ActivatorUtilities.CreateInstance<SessionHealthCheck>(sp));
        }

        if (server)
        {
            CheckDiscovery.Add(target, settings, ForwardedHeadersName, ["ready", "safety"], static sp => ActivatorUtilities.CreateInstance<ForwardedHeadersHealthCheck>(sp));
            CheckDiscovery.Add(target, settings, CertificatesName, ["ready", "safety"], static sp => sp.GetRequiredService<CertificateHealthCheck>(), CertificatesInterval);
        }

        if (background)
        {
            CheckDiscovery.Add(target, settings, BackgroundServicesName, ["ready", "safety"], static sp => ActivatorUtilities.CreateInstance<BackgroundServicesHealthCheck>(sp));
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using HealthKit.Checks;
using HealthKit.Evaluation;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>
/// What this instance is and the consistency facts it publishes: a per-process id, host, addresses, build, a hash of
/// the Data Protection discriminator and the key ids, a hash of the required configuration. Everything is capped so
/// an entry stays small whatever the application registers.
/// </summary>
internal sealed class FleetFacts
{
    internal const int MaxChecks = 64;
    internal const int MaxNameLength = 100;
    internal const int MaxAddresses = 8;
    internal const int MaxKeys = 16;
    internal const int MaxReasonLength = 200;

    // The key ring is read from its repository (a file, a database); once every half minute is enough to notice a
    // new key or an instance with another ring, and keeps that I/O off most exchanges.
    private static readonly TimeSpan KeyRingRefresh = TimeSpan.FromSeconds(30);

    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly bool _dataProtection;
    private readonly Lock _keyGate = new();
    private List<string>? _addresses;
    private (string? Default, List<string> Keys) _keyRing = (null, []);
    private long _keyRingReadAt = -1;

    public FleetFacts(IServiceProvider services, IOptions<DeployHealthOptions> options, IConfiguration configuration, TimeProvider time, RegisteredServices registered)
    {
        _services = services;
        _time = time;
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        Host = Truncate(Environment.MachineName);
        Build = DescribeBuild(Assembly.GetEntryAssembly());
        Configuration = Fingerprint(options.Value.RequiredConfiguration, configuration);
        foreach (var descriptor in registered.Services)
        {
            _dataProtection |= descriptor.ServiceType == typeof(IDataProtectionProvider);
        }

        if (_dataProtection)
        {
            var discriminator = services.GetService<IOptions<DataProtectionOptions>>()?.Value.ApplicationDiscriminator;
            Discriminator = discriminator is null ? null : Hash(discriminator.TrimEnd('/', '\\'));
        }
    }

    /// <summary>Gets this process's id on the board: random, so two hosts in one process (tests) are two instances.</summary>
    public string Id { get; }

    public string Host { get; }

    public string Build { get; }

    public string? Configuration { get; }

    public string? Discriminator { get; }

    /// <summary>Fills <paramref name="entry"/> with this instance's facts and the statuses of <paramref name="snapshot"/>.</summary>
    public void Describe(FleetEntry entry, HealthSnapshot snapshot, DeployHealthOptions options)
    {
        entry.Id = Id;
        entry.Host = Host;
        entry.ProcessId = Environment.ProcessId;
        entry.Build = Build;
        entry.Addresses = Addresses();
        entry.Configuration = Configuration;
        entry.Discriminator = Discriminator;
        (entry.DefaultKey, entry.Keys) = KeyRing();
        var checks = new Dictionary<string, string>(Math.Min(snapshot.Report.Entries.Count, MaxChecks), StringComparer.Ordinal);
        foreach (var (name, check) in snapshot.Report.Entries)
        {
            if (checks.Count == MaxChecks)
            {
                break;
            }

            var scope = CheckScopes.Resolve(name, check, options) == CheckScope.Shared ? 'S' : 'L';
            checks[Truncate(name)] = string.Create(2, (FleetEntry.StatusLetter(check.Status), scope), static (span, s) => (span[0], span[1]) = s);
        }

        entry.Checks = checks;
    }

    public static string Truncate(string text, int length = MaxNameLength) => text.Length <= length ? text : text[..length];

    internal static string DescribeBuild(Assembly? assembly)
    {
        if (assembly is null)
        {
            return "unknown";
        }

        // The module version id changes with every compilation that changes the output (and not otherwise, with
        // deterministic builds), so two builds that both say "1.0.0" still differ.
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "0";
        return Truncate(version + " (" + assembly.ManifestModule.ModuleVersionId.ToString("N")[..8] + ")");
    }

    /// <summary>A hash of the required keys and their values, in key order; values never leave the process.</summary>
    internal static string? Fingerprint(IList<string> keys, IConfiguration configuration)
    {
        if (keys.Count == 0)
        {
            return null;
        }

        var sorted = new List<string>(keys);
        sorted.Sort(StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder();
        foreach (var key in sorted)
        {
            text.Append(key.ToUpperInvariant()).Append('\0').Append(configuration[key]).Append('\0');
        }

        return Hash(text.ToString());
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 8));

    private List<string> Addresses()
    {
        if (_addresses is { Count: > 0 } known)
        {
            return known;
        }

        var found = new List<string>();
        if (_services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>() is { } feature)
        {
            foreach (var address in feature.Addresses)
            {
                if (found.Count == MaxAddresses)
                {
                    break;
                }

                found.Add(Truncate(address));
            }
        }

        // Known once the server has bound; until then ask again on the next exchange.
        return _addresses = found;
    }

    /// <summary>The id of the current default key and the ids of the keys this instance can unprotect with (re-read every 30 s).</summary>
    public (string? Default, List<string> Keys) KeyRing()
    {
        // The evaluation (the fleet check) and the fleet service both ask; one reads the store, the other waits.
        lock (_keyGate)
        {
            return ReadKeyRing();
        }
    }

    private (string? Default, List<string> Keys) ReadKeyRing()
    {
        if (!_dataProtection || (_keyRingReadAt >= 0 && _time.GetElapsedTime(_keyRingReadAt) < KeyRingRefresh))
        {
            return _keyRing;
        }

        _keyRingReadAt = _time.GetTimestamp();
        if (_services.GetService<IKeyManager>() is not { } manager)
        {
            return _keyRing;
        }

        try
        {
            var now = _time.GetUtcNow();
            var all = new List<IKey>(manager.GetAllKeys());
            all.Sort(static (a, b) => b.ActivationDate.CompareTo(a.ActivationDate));
            string? current = null;
            var ids = new List<string>(Math.Min(all.Count, MaxKeys));
            foreach (var key in all)
            {
                if (key.IsRevoked)
                {
                    continue;
                }

                if (current is null && key.ActivationDate <= now && key.ExpirationDate > now)
                {
                    current = key.KeyId.ToString("D");
                }

                if (ids.Count < MaxKeys)
                {
                    ids.Add(key.KeyId.ToString("D"));
                }
            }

            _keyRing = (current, ids);
        }
#pragma warning disable CA1031 // A key store that cannot be read is the Data Protection check's finding; the board just lacks the facts.
        catch (Exception)
#pragma warning restore CA1031
        {
            _keyRing = (null, []);
        }

        return _keyRing;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit;

/// <summary>
/// Returned by <see cref="DeployHealthServiceCollectionExtensions.AddDeployHealth(IServiceCollection)"/>. It is an
/// <see cref="IHealthChecksBuilder"/>, so <c>AddCheck&lt;T&gt;()</c> and every AspNetCore.HealthChecks.* check chain
/// on it, and it adds HealthKit's own settings.
/// </summary>
public sealed class DeployHealthBuilder : IHealthChecksBuilder
{
    private readonly IHealthChecksBuilder _healthChecks;

    internal DeployHealthBuilder(IHealthChecksBuilder healthChecks)
    {
        _healthChecks = healthChecks;
    }

    /// <summary>Gets the application's service collection.</summary>
    public IServiceCollection Services => _healthChecks.Services;

    /// <summary>Adds a health check registration; readiness probes evaluate it.</summary>
    /// <param name="registration">The registration to add.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="registration"/> is <see langword="null"/>.</exception>
    public IHealthChecksBuilder Add(HealthCheckRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        _healthChecks.Add(registration);
        return this;
    }

    /// <summary>
    /// Declares configuration keys the application cannot run without (for example <c>ConnectionStrings:Default</c>).
    /// When any of them is missing, empty or whitespace, the host stops before the server binds its port, with one
    /// message naming every missing key and its environment-variable spelling. Values are never printed.
    /// </summary>
    /// <param name="keys">Configuration keys in <c>Section:Key</c> form.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A key is <see langword="null"/>, empty or whitespace.</exception>
    public DeployHealthBuilder RequireConfiguration(params string[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key, nameof(keys));
        }

        var copy = (string[])keys.Clone();
        Services.Configure<DeployHealthOptions>(options =>
        {
            foreach (var key in copy)
            {
                options.RequiredConfiguration.Add(key);
            }
        });
        return this;
    }
}

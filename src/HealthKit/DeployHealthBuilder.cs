// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using HealthKit.Safety;
using HealthKit.Smoke;
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

    /// <summary>
    /// Smoke-renders a page of the application on each readiness evaluation, through the application's own pipeline,
    /// in-process and without a socket. The page is HealthKit's own check: the application's
    /// <see cref="HealthCheckService"/> and its <c>MapHealthChecks</c> endpoints do not render it. A page that throws, times out, redirects or answers a non-2xx status makes
    /// readiness fail, with the page, its status and the first line of the exception in the details.
    /// </summary>
    /// <param name="path">The app-relative path, starting with <c>/</c> (a query string is allowed).</param>
    /// <param name="configure">Expected status, expected text, timeout and the user to render as.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or does not start with <c>/</c>.</exception>
    public DeployHealthBuilder AddSmokePage(string path, Action<SmokePageOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path[0] != '/' || path.StartsWith("//", StringComparison.Ordinal))
        {
            throw new ArgumentException($"A smoke page path is app-relative and starts with a single '/' (was '{path}').", nameof(path));
        }

        var page = new SmokePageOptions();
        configure?.Invoke(page);
        if (page.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"The timeout of smoke page '{path}' must be positive (was {page.Timeout}).", nameof(configure));
        }

        var registration = SmokePageRegistration.Create(path, page);
        Services.Configure<HealthKitRegistrations>(own => own.TryAdd(registration));
        return this;
    }

    /// <summary>
    /// Declares a long-running worker that proves it is alive by calling <see cref="IHeartbeat.Beat"/> with
    /// <paramref name="name"/>. Readiness and liveness fail when it has not beaten for longer than
    /// <paramref name="maxAge"/> (counted from start until its first beat): a worker that stopped beating is stuck,
    /// and restarting the process is the remedy.
    /// </summary>
    /// <param name="name">The worker's name, as passed to <see cref="IHeartbeat.Beat"/>; the check is named <c>heartbeat_{name}</c>.</param>
    /// <param name="maxAge">The longest time allowed between beats.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty, or <paramref name="maxAge"/> is not positive.</exception>
    public DeployHealthBuilder AddHeartbeat(string name, TimeSpan maxAge)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (maxAge <= TimeSpan.Zero)
        {
            throw new ArgumentException($"The maximum age of heartbeat '{name}' must be positive (was {maxAge}).", nameof(maxAge));
        }

        var declaration = new HeartbeatDeclaration(name, maxAge);
        Services.AddSingleton(declaration);
        var registration = new HealthCheckRegistration(
            declaration.CheckName,
            services => new HeartbeatHealthCheck(name, maxAge, services.GetRequiredService<Heartbeats>()),
            failureStatus: null,
            tags: ["ready", "heartbeat"]);
        Services.Configure<HealthKitRegistrations>(own => own.TryAdd(registration));
        return this;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Checks;

/// <summary>
/// The application's service collection, kept so discovery can read it once the container is built. Reading it
/// then, not inside AddDeployHealth, is what makes registration order irrelevant: AddDbContext after
/// AddDeployHealth is found just the same.
/// </summary>
internal sealed class RegisteredServices(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;

    /// <summary>
    /// Whether the host has an HTTP server (Kestrel, IIS, TestServer). A generic host (the worker template) has none:
    /// the middleware never runs there, so what needs it (smoke pages, the self-test, certificate checks) is skipped.
    /// </summary>
    public bool HasHttpServer
    {
        get
        {
            foreach (var descriptor in Services)
            {
                if (descriptor.ServiceType == typeof(IServer))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Whether the app registered a service of the type named <paramref name="fullName"/>: asked by name so that
    /// asking loads nothing (<c>GetService&lt;ISessionStore&gt;()</c> would load the sessions assembly into an app without sessions).
    /// </summary>
    public bool Has(string fullName)
    {
        foreach (var descriptor in Services)
        {
            if (!descriptor.IsKeyedService && string.Equals(descriptor.ServiceType.FullName, fullName, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

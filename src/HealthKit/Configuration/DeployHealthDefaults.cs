// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Configuration;

/// <summary>
/// Defaults that depend on the host, applied before configuration binding so that configuration and code still
/// override them: no drain delay in Development, where nobody balances traffic and a slow Ctrl+C annoys, nor in a
/// host without an HTTP server (a worker), which no balancer sends requests to, so that there is nothing to drain
/// and a delay would only hold up every stop.
/// </summary>
internal sealed class DeployHealthDefaults(IServiceProvider services) : IConfigureOptions<DeployHealthOptions>
{
    public void Configure(DeployHealthOptions options)
    {
        // Asked of the container without resolving the server: resolving it here would build Kestrel inside options.
        var hasServer = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IServer)) ?? true;
        if (services.GetService<IHostEnvironment>()?.IsDevelopment() == true || !hasServer)
        {
            options.Drain.Delay = TimeSpan.Zero;
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Configuration;

/// <summary>
/// Defaults that depend on the environment, applied before configuration binding so that configuration and code
/// still override them: no drain delay in Development, where nobody balances traffic and a slow Ctrl+C annoys.
/// </summary>
internal sealed class DeployHealthDefaults(IServiceProvider services) : IConfigureOptions<DeployHealthOptions>
{
    public void Configure(DeployHealthOptions options)
    {
        if (services.GetService<IHostEnvironment>()?.IsDevelopment() == true)
        {
            options.DrainDelay = TimeSpan.Zero;
        }
    }
}

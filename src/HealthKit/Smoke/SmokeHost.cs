// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Smoke;

/// <summary>
/// The Host header of smoke renders: the first concrete name host filtering allows (not <c>*</c>, not a
/// <c>*.example.com</c> wildcard), else <c>localhost</c>, so a render passes host filtering as a user's request does.
/// </summary>
internal sealed class SmokeHost(IServiceProvider services)
{
    private string? _name;

    public string Name => _name ??= Pick(services.GetService<IOptions<HostFilteringOptions>>()?.Value.AllowedHosts);

    internal static string Pick(IList<string>? allowed)
    {
        if (allowed is not null)
        {
            foreach (var entry in allowed)
            {
                var host = entry.Trim();
                if (host.Length > 0 && host != "*" && !host.StartsWith("*.", StringComparison.Ordinal))
                {
                    return host;
                }
            }
        }

        return "localhost";
    }
}

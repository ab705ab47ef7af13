// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Lifecycle;

/// <summary>
/// A background part of one capability (a listener, a loop) and the setting that switches it on, started by
/// <see cref="SwitchedServices"/> only when the options say so.
/// </summary>
/// <param name="Service">The part, registered as a singleton of this type, which implements <see cref="IHostedService"/>.</param>
/// <param name="IsOn">Whether the final options switch it on.</param>
internal sealed record SwitchedService(Type Service, Func<DeployHealthOptions, bool> IsOn)
{
    /// <summary>Registers <typeparamref name="T"/> as a singleton that runs while the host runs when <paramref name="isOn"/> says so.</summary>
    public static void Add<T>(IServiceCollection services, Func<DeployHealthOptions, bool> isOn)
        where T : class, IHostedService
    {
        // Idempotent by type, as TryAddEnumerable would be: an instance descriptor's type is the record's, not T's.
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(SwitchedService) && descriptor.ImplementationInstance is SwitchedService { Service: var known } && known == typeof(T))
            {
                return;
            }
        }

        services.Add(ServiceDescriptor.Singleton(new SwitchedService(typeof(T), isOn)));
    }
}

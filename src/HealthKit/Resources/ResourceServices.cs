// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HealthKit.Resources;

/// <summary>Registers the resource checks (memory, disk, file descriptors) and the validation of their settings.</summary>
internal static class ResourceServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<MemoryHealthCheck>();
        services.TryAddSingleton<DiskHealthCheck>();
        services.TryAddSingleton<FileDescriptorHealthCheck>();
        services.TryAddSingleton<WrittenDirectories>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, ResourceCheckRegistration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployHealthOptions>, ResourceOptionsValidator>());
    }
}

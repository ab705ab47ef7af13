// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Registry;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Smoke;

/// <summary>
/// Registers the smoke pages: their checks (one per configured page, none when no page is configured), the app's
/// pipeline they render through and what keeps a render out of the app's logs and error pages.
/// </summary>
internal static class SmokeServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<AppPipeline>();
        services.TryAddSingleton<SmokeHost>();
        services.TryAddSingleton<SmokeRenderLogs>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LoggerFilterOptions>, SmokeRenderLogs>(static sp => sp.GetRequiredService<SmokeRenderLogs>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeveloperPageExceptionFilter, SmokeRenderExceptionFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HealthKitRegistrations>, SmokePageRegistration>());
    }
}

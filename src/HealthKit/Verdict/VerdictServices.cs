// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthKit.Verdict;

/// <summary>Registers the verdict every door asks; its gates and judges are registered by their own capabilities.</summary>
internal static class VerdictServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<VerdictSignal>();
        services.TryAddSingleton<HealthVerdict>();
    }
}

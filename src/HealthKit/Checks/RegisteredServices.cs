// Copyright (c) HealthKit contributors. Licensed under the MIT License.

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
}

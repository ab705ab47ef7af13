// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.Connection;

/// <summary>
/// Puts <see cref="ConnectionDoor"/> on every Kestrel endpoint through <c>ConfigureEndpointDefaults</c>, which Kestrel
/// applies to endpoints from code (<c>Listen</c>), from configuration (<c>Kestrel:Endpoints</c>), from URLs
/// (<c>ASPNETCORE_URLS</c>, <c>--urls</c>, <c>ASPNETCORE_HTTP_PORTS</c>) and to the default address. Kestrel applies the
/// defaults when an endpoint is created, so this runs first of all Kestrel configuration (registered at the front of
/// the service collection): a <c>Listen</c> in the app's <c>ConfigureKestrel</c> then gets the door too. Kestrel keeps a
/// single defaults action: an app that calls <c>ConfigureEndpointDefaults</c> itself replaces this one, and HealthKit
/// says so at start (event 201).
/// </summary>
internal sealed class ConnectionDoorSetup : IConfigureOptions<KestrelServerOptions>
{
    private readonly IServiceProvider _services;

    public ConnectionDoorSetup(IServiceProvider services) => _services = services;

    public void Configure(KestrelServerOptions options)
    {
        // The door is resolved when Kestrel builds an endpoint's pipeline (as it binds, in StartAsync), not here:
        // Kestrel's options are configured inside Build(), and the door reads DeployHealthOptions, whose validation
        // must fail in ValidateOnStart with the one start-up message rather than from inside Build().
        var services = _services;
        options.ConfigureEndpointDefaults(endpoint => endpoint.Use(next => services.GetRequiredService<ConnectionDoor>().Wrap(endpoint, next)));
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace HealthKit.Benchmarks;

/// <summary>
/// A server that listens on nothing and hands requests straight to the host's application. The host builds that
/// application as it would for Kestrel: startup filters (HealthKit's, host filtering's), then the app's middleware,
/// then endpoints, all wrapped in hosting's per-request context. <c>WebApplication</c>'s own
/// <c>IApplicationBuilder.Build()</c> would skip the startup filters, and so HealthKit.
/// </summary>
public sealed class InProcessServer : IServer
{
    private Func<IFeatureCollection, Task>? _send;

    public IFeatureCollection Features { get; } = new FeatureCollection();

    /// <summary>Runs one request through the whole pipeline, as Kestrel does for each request it reads.</summary>
    public Task SendAsync(IFeatureCollection request) =>
        (_send ?? throw new InvalidOperationException("The host has not started the server yet."))(request);

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull
    {
        _send = new Sender<TContext>(application).SendAsync;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
    }

    private sealed class Sender<TContext>(IHttpApplication<TContext> application)
        where TContext : notnull
    {
        public async Task SendAsync(IFeatureCollection request)
        {
            var context = application.CreateContext(request);
            try
            {
                await application.ProcessRequestAsync(context).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                application.DisposeContext(context, exception);
                throw;
            }

            application.DisposeContext(context, null);
        }
    }
}

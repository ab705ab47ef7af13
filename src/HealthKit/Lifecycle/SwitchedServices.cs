// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HealthKit.Lifecycle;

/// <summary>
/// The one hosted service that starts HealthKit's background parts (the agent and probe listeners, the background
/// evaluation, the overload detector, the fleet view, the balancer watch) that the options switch on, in the order
/// their capabilities registered them, and stops them in reverse. A part that is off is never built.
/// </summary>
/// <remarks>
/// Decided here, at start, from the final options rather than from the configuration while services are added:
/// <c>AddDeployHealth(configure)</c>, any later <c>Configure&lt;DeployHealthOptions&gt;</c> and the configuration
/// sources added after <c>AddDeployHealth()</c> all change what is on, and only the bound options know the outcome.
/// </remarks>
internal sealed class SwitchedServices(IEnumerable<SwitchedService> parts, IServiceProvider services, IOptions<DeployHealthOptions> options) : IHostedService
{
    private readonly List<IHostedService> _started = [];

    /// <summary>Gets the parts started, in start order.</summary>
    internal IReadOnlyList<IHostedService> Started => _started;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        foreach (var part in parts)
        {
            if (part.IsOn(settings))
            {
                var service = (IHostedService)services.GetService(part.Service)!;
                await service.StartAsync(cancellationToken).ConfigureAwait(false);
                _started.Add(service);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<Exception>? failures = null;
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            try
            {
                await _started[i].StopAsync(cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // As the host does: every part stops, then the failures are reported together.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                (failures ??= []).Add(exception);
            }
        }

        _started.Clear();
        if (failures is not null)
        {
            throw new AggregateException("One or more of HealthKit's background services failed to stop.", failures);
        }
    }
}

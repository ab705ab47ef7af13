// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Evaluation;
using HealthKit.Lifecycle;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace HealthKit.Safety;

/// <summary>
/// A <see cref="BackgroundService"/> whose work has faulted or finished while the host still runs: the web part
/// keeps answering while the queue, outbox or sync it runs is dead. Unhealthy, naming each one.
/// </summary>
internal sealed class BackgroundServicesHealthCheck(IEnumerable<IHostedService> hostedServices, DeployState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (state.IsStopping)
        {
            return Task.FromResult(HealthCheckResult.Healthy("The host is stopping."));
        }

        List<string>? dead = null;
        var watched = 0;
        foreach (var service in hostedServices)
        {
            if (service is not BackgroundService background || IsHealthKits(service))
            {
                continue;
            }

            watched++;
            var task = background.ExecuteTask;
            if (task is null || !task.IsCompleted)
            {
                continue;
            }

            var name = service.GetType().Name;
            (dead ??= []).Add(task.IsFaulted
                ? $"{name} failed: {task.Exception?.GetBaseException().Message}"
                : task.IsCanceled ? $"{name} was cancelled" : $"{name} finished");
        }

        return Task.FromResult(dead is null
            ? HealthCheckResult.Healthy($"{watched} background service(s) running.")
            : new HealthCheckResult(context.Registration.FailureStatus, string.Join("; ", dead) + " while the host runs."));
    }

    private static bool IsHealthKits(IHostedService service) =>
        service is BackgroundEvaluation;
}

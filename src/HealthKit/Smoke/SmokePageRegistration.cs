// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HealthKit.Smoke;

/// <summary>Turns smoke pages, from the builder or from <c>DeployHealth:SmokePages</c>, into registrations of HealthKit's own.</summary>
internal sealed class SmokePageRegistration(IOptions<DeployHealthOptions> options, RegisteredServices registered) : IPostConfigureOptions<HealthKitRegistrations>
{
    public const string NamePrefix = "smoke ";

    // A little longer than the render's own timeout, so the page's cancellation, not the evaluator's deadline,
    // is what normally reports a hung page (with the page named in the message).
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a page's render is reused: a render runs the app's whole pipeline, which a probe every few seconds would pay for.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public static HealthCheckRegistration Create(string path, SmokePageOptions page)
    {
        var state = new SmokePageState();
        return new(
            NamePrefix + path,
            services => ActivatorUtilities.CreateInstance<SmokePageHealthCheck>(services, path, page, state),
            failureStatus: null,
            tags: ["ready", "smoke"],
            timeout: page.Timeout + DeadlineMargin)
        {
            Period = Interval,
        };
    }

    public void PostConfigure(string? optionsName, HealthKitRegistrations target)
    {
        if (!registered.HasHttpServer)
        {
            // A host without an HTTP server (a worker) has no pipeline to render through: its smoke pages are
            // skipped, as the start-up report says, instead of failing readiness forever.
            foreach (var registration in target.Registrations.ToList())
            {
                if (IsSmokePage(registration))
                {
                    target.Registrations.Remove(registration);
                }
            }

            return;
        }

        // A page given both in code and in configuration is rendered once, with the options given in code.
        foreach (var path in options.Value.SmokePages)
        {
            if (!string.IsNullOrWhiteSpace(path))
            {
                target.TryAdd(Create(path, new SmokePageOptions()));
            }
        }
    }

    private static bool IsSmokePage(HealthCheckRegistration registration) =>
        registration.Name.StartsWith(NamePrefix, StringComparison.Ordinal);
}

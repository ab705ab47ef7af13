// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json;
using HealthKit.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Tests.Output;

/// <summary>
/// The apps the details tests probe, on real Kestrel: one that grants details through <c>DeployHealth:DetailsPolicy</c>
/// (the <see cref="TokenAuthenticationHandler"/> scheme, a policy requiring the operator role, the app's own
/// authentication and authorization middleware behind HealthKit), and one that grants them to callers of its probe listener on loopback.
/// Both carry a healthy datastore check and a failing check whose exception message holds secrets and endpoints,
/// unless the test passes its own; discovery is off unless the test's configuration turns it on.
/// </summary>
public static class DetailsApp
{
    public const string PolicyName = "HealthDetails";
    public const string HealthyCheck = "orders-db";
    public const string FailingCheck = "payments";

    /// <summary>A password that only the failing check's exception message holds: it must never leave the process.</summary>
    public const string Secret = "hunter2-Zq9";

    /// <summary>A host name that only the failing check's exception message holds.</summary>
    public const string SecretHost = "pay-gw.corp.example.com";

    /// <summary>What the failing check's exception says: a message with a connection string in it, as drivers' messages do.</summary>
    public const string FailingMessage = $"Payment gateway refused the connection (Server={SecretHost}:8443;User Id=svc-orders;Password={Secret})";

    public static Task<KestrelApp> StartWithPolicyAsync(
        Action<DeployHealthBuilder>? checks = null,
        Action<AuthorizationPolicyBuilder>? policy = null,
        IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "false", ["DeployHealth:DetailsPolicy"] = PolicyName };
        Merge(settings, configuration);
        return KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication(TokenAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
                builder.Services.AddAuthorizationBuilder().AddPolicy(PolicyName, p =>
                {
                    p.RequireRole(TokenAuthenticationHandler.OperatorRole);
                    policy?.Invoke(p);
                });
                (checks ?? AddStandardChecks)(builder.Services.AddDeployHealth());
            },
            app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGet("/", () => "home").RequireAuthorization();
            },
            settings);
    }

    public static async Task<KestrelApp> StartWithLoopbackAsync(
        Action<DeployHealthBuilder>? checks = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null,
        IDictionary<string, string?>? configuration = null)
    {
        // Loopback details exist only on the probe listener bound to loopback; the app's own port never gives them.
        var settings = new Dictionary<string, string?>
        {
            ["DeployHealth:AutoDiscover"] = "false",
            ["DeployHealth:ProbeListener:DetailsForLoopback"] = "true",
            ["DeployHealth:ProbeListener:Port"] = ServerHost.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DeployHealth:ProbeListener:Address"] = "127.0.0.1",
        };
        Merge(settings, configuration);
        var app = await KestrelApp.StartAsync(
            builder =>
            {
                (checks ?? AddStandardChecks)(builder.Services.AddDeployHealth());
                configureBuilder?.Invoke(builder);
            },
            app =>
            {
                configureApp?.Invoke(app);
                app.MapGet("/", () => "home");
            },
            settings);

        // The probe listener answers from the last evaluation, never waiting for one: the first is waited for here,
        // so a test reads checks rather than "starting".
        await app.Services.GetRequiredService<HealthKit.Evaluation.HealthEvaluator>().GetAsync();
        return app;
    }

    /// <summary>
    /// The same app with nobody granted details and no probe listener: evaluations on demand, as probes of the main
    /// port drive them (the probe listener would evaluate in the background).
    /// </summary>
    public static Task<KestrelApp> StartPlainAsync(
        Action<DeployHealthBuilder>? checks = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null,
        IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "false" };
        Merge(settings, configuration);
        return KestrelApp.StartAsync(
            builder =>
            {
                (checks ?? AddStandardChecks)(builder.Services.AddDeployHealth());
                configureBuilder?.Invoke(builder);
            },
            app =>
            {
                configureApp?.Invoke(app);
                app.MapGet("/", () => "home");
            },
            settings);
    }

    public static void AddStandardChecks(DeployHealthBuilder health)
    {
        health.AddCheck(HealthyCheck, () => HealthCheckResult.Healthy("Orders database answers."), tags: ["db"]);
        health.AddCheck(FailingCheck, () => throw new InvalidOperationException(FailingMessage));
    }

    /// <summary>Each check's status and output in the document readiness gives a details caller.</summary>
    public static async Task<IReadOnlyDictionary<string, CheckOutput>> GetChecksAsync(KestrelApp app, string headers = "")
    {
        // A loopback-details app gives them on its probe listener only; a policy app on its own port.
        var address = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DeployHealthOptions>>().Value.ProbeListener.Port is null ? app.Address : app.ProbeAddress;
        var response = await RawHttp.GetAsync(address, "/health", address.Authority, extraHeaders: headers);
        using var document = JsonDocument.Parse(response.Body);
        var checks = new Dictionary<string, CheckOutput>();
        foreach (var check in document.RootElement.GetProperty("checks").EnumerateObject())
        {
            var entry = check.Value[0];
            checks[check.Name] = new CheckOutput(
                entry.GetProperty("status").GetString()!,
                entry.TryGetProperty("output", out var output) ? output.GetString() : null);
        }

        return checks;
    }

    /// <summary>Polls the document (bounded) until <paramref name="check"/> reports <paramref name="status"/>.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="timeout"/>; the message has the last document.</exception>
    public static async Task<CheckOutput> WaitForCheckAsync(KestrelApp app, string check, string status, TimeSpan timeout, string headers = "")
    {
        var until = DateTime.UtcNow + timeout;
        IReadOnlyDictionary<string, CheckOutput>? last = null;
        while (DateTime.UtcNow < until)
        {
            last = await GetChecksAsync(app, headers);
            if (last.TryGetValue(check, out var found) && found.Status == status)
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"'{check}' did not report {status} within {timeout.TotalSeconds:0} s; last: {string.Join("; ", last?.Select(c => $"{c.Key}={c.Value}") ?? [])}");
    }

    private static void Merge(Dictionary<string, string?> settings, IDictionary<string, string?>? extra)
    {
        if (extra is null)
        {
            return;
        }

        foreach (var pair in extra)
        {
            settings[pair.Key] = pair.Value;
        }
    }
}

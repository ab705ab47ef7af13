// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthKit.Output;

/// <summary>
/// Decides whether a caller may see details (the full health document and the status page). Probes are answered in
/// front of the app's authentication middleware, so the policy is evaluated here with the app's own authentication
/// schemes; nothing in the request other than what those schemes accept can grant access. Being on loopback is
/// never enough here: a same-host forwarder (HAProxy <c>mode tcp</c>, stunnel, socat, <c>ssh -L</c>) or a request
/// forgery in the app brings any remote caller in from 127.0.0.1, with or without forwarding headers.
/// <see cref="DeployHealthProbeListenerOptions.DetailsForLoopback"/> is honoured only by the probe listener bound to loopback.
/// </summary>
internal sealed class DetailsAccess
{
    private readonly string? _policyName;
    private readonly IServiceProvider _services;

    public DetailsAccess(IOptions<DeployHealthOptions> options, IServiceProvider services)
    {
        _policyName = string.IsNullOrWhiteSpace(options.Value.DetailsPolicy) ? null : options.Value.DetailsPolicy;
        _services = services;
    }

    /// <summary>Gets whether anyone at all can be granted details; when not, the fast anonymous path is all there is.</summary>
    public bool Enabled => _policyName is not null;

    public bool HasPolicy => _policyName is not null;

    public async ValueTask<DetailsDecision> DecideAsync(HttpContext context)
    {
        if (_policyName is null)
        {
            return DetailsDecision.Anonymous;
        }

        var policyProvider = _services.GetRequiredService<IAuthorizationPolicyProvider>();
        var policy = await policyProvider.GetPolicyAsync(_policyName).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"DeployHealth:DetailsPolicy names the authorization policy '{_policyName}', which is not registered.");
        var evaluator = _services.GetRequiredService<IPolicyEvaluator>();
        var authentication = policy.AuthenticationSchemes.Count > 0
            ? await evaluator.AuthenticateAsync(policy, context).ConfigureAwait(false)
            : await AuthenticateWithDefaultSchemeAsync(context).ConfigureAwait(false);

        // The HttpContext as the resource, as the authorization middleware passes it: requirements that read the
        // connection or the request through it (IP allow-lists, client certificates) then decide the same here.
        var authorization = await evaluator.AuthorizeAsync(policy, authentication, context, resource: context).ConfigureAwait(false);
        if (authorization.Succeeded)
        {
            return DetailsDecision.Allowed;
        }

        return authentication.Succeeded ? DetailsDecision.Forbidden : DetailsDecision.Anonymous;
    }

    /// <summary>
    /// Refuses a caller of the status page the way the authorization middleware would: challenge (or forbid) each of
    /// the policy's schemes, else the default scheme; with no authentication at all, a plain 401 or 403.
    /// </summary>
    public async Task RefuseAsync(HttpContext context, bool authenticated)
    {
        var refused = authenticated ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
        var schemes = _services.GetService<IAuthenticationSchemeProvider>();
        if (_policyName is null || schemes is null || _services.GetService<IAuthenticationService>() is null)
        {
            context.Response.StatusCode = refused;
            return;
        }

        var policy = await _services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(_policyName).ConfigureAwait(false);
        if (policy is { AuthenticationSchemes.Count: > 0 })
        {
            foreach (var scheme in policy.AuthenticationSchemes)
            {
                await (authenticated ? context.ForbidAsync(scheme) : context.ChallengeAsync(scheme)).ConfigureAwait(false);
            }

            return;
        }

        var fallback = authenticated ? await schemes.GetDefaultForbidSchemeAsync().ConfigureAwait(false) : await schemes.GetDefaultChallengeSchemeAsync().ConfigureAwait(false);
        if (fallback is null)
        {
            context.Response.StatusCode = refused;
            return;
        }

        await (authenticated ? context.ForbidAsync() : context.ChallengeAsync()).ConfigureAwait(false);
    }

    private async Task<AuthenticateResult> AuthenticateWithDefaultSchemeAsync(HttpContext context)
    {
        var schemes = _services.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetDefaultAuthenticateSchemeAsync().ConfigureAwait(false) is null)
        {
            return AuthenticateResult.NoResult();
        }

        var result = await context.AuthenticateAsync().ConfigureAwait(false);
        if (result.Succeeded)
        {
            context.User = result.Principal;
        }

        return result.Succeeded ? result : AuthenticateResult.NoResult();
    }
}

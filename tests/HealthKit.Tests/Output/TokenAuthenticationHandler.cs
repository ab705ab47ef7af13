// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Output;

/// <summary>
/// A real authentication scheme for the details tests: exactly one <c>Authorization: Bearer</c> header with one of
/// two known tokens. <see cref="OperatorToken"/> carries the operator role; <see cref="UserToken"/> authenticates
/// without it. Anything else fails; no header is no result. A challenge is 401 with <c>WWW-Authenticate: Bearer</c>.
/// </summary>
public sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Token";
    public const string OperatorRole = "health-operator";
    public const string OperatorToken = "operator-token";
    public const string UserToken = "good-token";

    private const string Bearer = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (headers.Count != 1 || headers[0] is not { } header || !header.StartsWith(Bearer, StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.Fail("Not one bearer token."));
        }

        var claims = header[Bearer.Length..] switch
        {
            OperatorToken => new[] { new Claim(ClaimTypes.Name, "operator"), new Claim(ClaimTypes.Role, OperatorRole) },
            UserToken => new[] { new Claim(ClaimTypes.Name, "user") },
            _ => null,
        };
        if (claims is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown token."));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}

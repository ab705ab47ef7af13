// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Security.Claims;

namespace HealthKit;

/// <summary>How one page is smoke-rendered through the application's own pipeline on each readiness evaluation.</summary>
public sealed class SmokePageOptions
{
    /// <summary>
    /// Gets or sets the status code the page must answer with. A redirect (a 302 to a login page, a 307 to https)
    /// fails the check unless it is the expected status.
    /// </summary>
    /// <value>The default is <see langword="null"/>: any 2xx status passes.</value>
    public int? ExpectedStatus { get; set; }

    /// <summary>Gets or sets text the response body must contain (ordinal comparison, within the first 1 MiB).</summary>
    /// <value>The default is <see langword="null"/>: the body is not inspected.</value>
    public string? ExpectedText { get; set; }

    /// <summary>
    /// Gets or sets how long the render may take; then the page's <c>HttpContext.RequestAborted</c> is cancelled and
    /// the check fails. It stays under the probe deadline so the probe still answers in time.
    /// </summary>
    /// <value>The default is 1.5 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Gets or sets the user the page is rendered as, for pages behind <c>[Authorize]</c> or a fallback policy. It is
    /// set on HealthKit's in-process request only: nothing in a request from outside can make it run as this user.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the page is rendered anonymously.</value>
    public Func<IServiceProvider, ClaimsPrincipal>? Principal { get; set; }
}

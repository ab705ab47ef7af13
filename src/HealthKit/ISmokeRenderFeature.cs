// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Present in <c>HttpContext.Features</c> when the request is one of HealthKit's in-process smoke renders (see
/// <see cref="DeployHealthBuilder.AddSmokePage(string, Action{SmokePageOptions}?)"/>), absent on every request from
/// a client. A smoke page is rendered on each readiness evaluation, so whatever it writes (a session, a cart, an
/// audit row, an e-mail) is written again every few seconds on every instance: a page that has such side effects
/// checks for this feature, or calls <see cref="SmokeRenderHttpContextExtensions.IsSmokeRender(Microsoft.AspNetCore.Http.HttpContext)"/>,
/// and skips them. Nothing in a request can set it: features are set by the server, not by headers.
/// </summary>
public interface ISmokeRenderFeature
{
    /// <summary>Gets the smoke page being rendered, as it was registered (path and query).</summary>
    /// <value>The path given to <c>AddSmokePage</c> or <c>DeployHealth:SmokePages</c>, for example <c>/orders?page=1</c>.</value>
    string Page { get; }
}

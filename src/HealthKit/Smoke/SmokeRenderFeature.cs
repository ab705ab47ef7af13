// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Smoke;

/// <summary>
/// Present in <c>HttpContext.Features</c> when the request is one of HealthKit's in-process smoke renders, absent on
/// every request from a client: features are set by the server, not by headers. Internal, so that pages ask one
/// question, <see cref="SmokeRenderHttpContextExtensions.IsSmokeRender(Microsoft.AspNetCore.Http.HttpContext)"/>.
/// Immutable, so one instance serves every render of its page.
/// </summary>
internal sealed class SmokeRenderFeature(string page)
{
    /// <summary>The smoke page being rendered, as it was registered (path and query).</summary>
    public string Page { get; } = page;
}

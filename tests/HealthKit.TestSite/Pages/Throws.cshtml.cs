// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HealthKit.TestSite.Pages;

/// <summary>A page whose handler reads a setting that a bad deploy left out.</summary>
public sealed class ThrowsModel(IConfiguration configuration) : PageModel
{
    /// <summary>Handles GET.</summary>
    public void OnGet() => _ = configuration["Payments:Endpoint"] ?? throw new InvalidOperationException("Payments:Endpoint is not configured.");
}

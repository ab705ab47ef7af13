// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Mvc;

namespace HealthKit.TestSite.Controllers;

/// <summary>An MVC controller with a view.</summary>
public sealed class HomeController : Controller
{
    /// <summary>Renders Views/Home/Index.cshtml.</summary>
    /// <returns>The view.</returns>
    public IActionResult Index() => View();

    /// <summary>Renders a view that does not exist, as after a bad deploy.</summary>
    /// <returns>The missing view.</returns>
    public IActionResult Missing() => View();
}

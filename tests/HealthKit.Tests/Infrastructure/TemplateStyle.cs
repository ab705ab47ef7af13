// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>The pipelines of the <c>dotnet new</c> templates a HealthKit user starts from.</summary>
public enum TemplateStyle
{
    /// <summary><c>dotnet new web</c>: minimal API endpoints.</summary>
    Web,

    /// <summary><c>dotnet new webapp</c>: Razor Pages.</summary>
    WebApp,

    /// <summary><c>dotnet new mvc</c>: controllers with views.</summary>
    Mvc,
}

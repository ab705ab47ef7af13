// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Smoke;

/// <summary>The <see cref="ISmokeRenderFeature"/> of one smoke page: immutable, so one instance serves every render.</summary>
internal sealed class SmokeRenderFeature(string page) : ISmokeRenderFeature
{
    public string Page { get; } = page;
}

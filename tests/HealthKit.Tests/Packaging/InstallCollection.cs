// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Packaging;

/// <summary>
/// Install tests marked <c>[Collection("install")]</c> share one packed <see cref="LocalPackageFeed"/> (a pack is
/// the slowest step there is) and build their apps one after another, not side by side on a two-core machine.
/// </summary>
[CollectionDefinition("install")]
public sealed class InstallCollection : ICollectionFixture<LocalPackageFeed>
{
}

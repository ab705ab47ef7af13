// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>Tests marked <c>[Collection("redis")]</c> share one <see cref="RedisServer"/> and run one after another.</summary>
[CollectionDefinition("redis")]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
}

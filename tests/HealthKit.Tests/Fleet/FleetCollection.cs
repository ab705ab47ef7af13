// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Fleet;

/// <summary>
/// Fleet tests stop and start their PostgreSQL and Redis, so they get servers of their own (not the ones of the
/// postgres and redis collections) and run one after another.
/// </summary>
[CollectionDefinition("fleet")]
public sealed class FleetCollection : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
}

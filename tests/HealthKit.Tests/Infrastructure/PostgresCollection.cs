// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>Tests marked <c>[Collection("postgres")]</c> share one <see cref="PostgresServer"/> and run one after another.</summary>
[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
}

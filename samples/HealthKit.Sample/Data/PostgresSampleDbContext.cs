// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;

namespace HealthKit.Sample.Data;

/// <summary>
/// The model on PostgreSQL; its migrations are in Data/Migrations/Postgres. A new one is added with
/// <c>ConnectionStrings__Postgres=Host=localhost dotnet ef migrations add Name --context PostgresSampleDbContext --output-dir Data/Migrations/Postgres</c>
/// (the connection string only selects the provider; nothing connects).
/// </summary>
public sealed class PostgresSampleDbContext(DbContextOptions<PostgresSampleDbContext> options) : SampleDbContext(options);

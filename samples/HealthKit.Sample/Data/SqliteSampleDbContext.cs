// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;

namespace HealthKit.Sample.Data;

/// <summary>
/// The model on SQLite; its migrations are in Data/Migrations/Sqlite. A new one is added with
/// <c>dotnet ef migrations add Name --context SqliteSampleDbContext --output-dir Data/Migrations/Sqlite</c>.
/// </summary>
public sealed class SqliteSampleDbContext(DbContextOptions<SqliteSampleDbContext> options) : SampleDbContext(options);

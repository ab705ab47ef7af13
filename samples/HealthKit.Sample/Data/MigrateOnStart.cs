// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;

namespace HealthKit.Sample.Data;

/// <summary>
/// Applies the database migrations when the host starts, unless <c>Sample:MigrateOnStart</c> is false.
/// </summary>
/// <remarks>
/// It runs in <see cref="StartingAsync"/>: after the host has validated options, so a deploy with missing
/// configuration stops before it touches the database, and before any hosted service's StartAsync, so the server
/// is not listening while the schema changes. When it is switched off (migrations applied by a pipeline step
/// instead), nothing here creates the schema, and HealthKit's DbContext check reports the pending migrations.
/// </remarks>
internal sealed partial class MigrateOnStart(
    IServiceScopeFactory scopeFactory,
    IConfiguration configuration,
    ILogger<MigrateOnStart> logger) : IHostedLifecycleService
{
    public const string ConfigurationKey = "Sample:MigrateOnStart";

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue(ConfigurationKey, defaultValue: true))
        {
            Log.Skipped(logger, ConfigurationKey);
            return;
        }

        await using var scope = scopeFactory.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SampleDbContext>();
        await db.Database.MigrateAsync(cancellationToken);
        Log.Migrated(logger, db.Database.ProviderName ?? "unknown");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "MigrationsApplied", Level = LogLevel.Information,
            Message = "Database migrations applied ({Provider}).")]
        public static partial void Migrated(ILogger logger, string provider);

        [LoggerMessage(EventId = 2, EventName = "MigrationsSkipped", Level = LogLevel.Warning,
            Message = "{Key} is false: migrations are not applied at start, and readiness fails while any is pending.")]
        public static partial void Skipped(ILogger logger, string key);
    }
}

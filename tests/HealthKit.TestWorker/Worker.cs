// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.TestWorker;

/// <summary>
/// A queue loop as a worker runs one: take work, do it, beat. While the file named by <c>Worker:StallFile</c>
/// exists the loop is stuck in its work item (as on a lock or a call that never returns) and does not beat; once
/// the file is gone it carries on.
/// </summary>
internal sealed partial class Worker(IHeartbeat heartbeat, IConfiguration configuration, ILogger<Worker> logger) : BackgroundService
{
    public const string HeartbeatName = "queue-loop";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stallFile = configuration["Worker:StallFile"];
        var stalled = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (stallFile is not null && File.Exists(stallFile))
            {
                if (!stalled)
                {
                    stalled = true;
                    Log.Stalled(logger, stallFile);
                }

                await Task.Delay(100, stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (stalled)
            {
                stalled = false;
                Log.Resumed(logger);
            }

            heartbeat.Beat(HeartbeatName);
            await Task.Delay(200, stoppingToken).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "Stalled", Level = LogLevel.Information, Message = "Work item stuck while {StallFile} exists.")]
        public static partial void Stalled(ILogger logger, string stallFile);

        [LoggerMessage(EventId = 2, EventName = "Resumed", Level = LogLevel.Information, Message = "Work item done; the loop carries on.")]
        public static partial void Resumed(ILogger logger);
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Options;

namespace HealthKit.Fleet;

/// <summary>
/// The fleet as this instance knows it: the last picture read from the board, and whether the board can be read
/// now. When it cannot, the last picture still decides for <see cref="DeployHealthFleetOptions.BoardLossTolerance"/>
/// (a Redis restart or failover must not change any decision), then <see cref="Current"/> is null and the instance
/// judges alone. Read on the probe path: fields only, no I/O.
/// </summary>
internal sealed class FleetView(IOptions<DeployHealthOptions> options, TimeProvider time)
{
    private readonly DeployHealthFleetOptions _options = options.Value.Fleet;
    private FleetPicture? _picture;
    private BoardProblem? _problem;
    private volatile bool _givenUp;

    public bool Enabled => _options.Enabled;

    public DeployHealthFleetOptions Options => _options;

    /// <summary>Gets the last picture read, however old.</summary>
    public FleetPicture? Last => Volatile.Read(ref _picture);

    /// <summary>
    /// Gets the picture that decides now: the last one, until the fleet service gives it up (the board unreadable for
    /// the grace period) or, should the service stall, once it is older than an entry's time to live plus the grace
    /// period; else null.
    /// </summary>
    public FleetPicture? Current
    {
        get
        {
            if (Volatile.Read(ref _picture) is not { } picture || _givenUp)
            {
                return null;
            }

            return time.GetElapsedTime(picture.ReadAt) < _options.EntryTtl + _options.BoardLossTolerance ? picture : null;
        }
    }

    /// <summary>Gets whether the last picture was given up and the instance judges alone.</summary>
    public bool GivenUp => _givenUp;

    /// <summary>Gets why the last exchange failed and since when the board has been unreadable, or null while it is read.</summary>
    public BoardProblem? Problem => Volatile.Read(ref _problem);

    internal void Update(FleetPicture picture)
    {
        Volatile.Write(ref _picture, picture);
        Volatile.Write(ref _problem, null);
        _givenUp = false;
    }

    /// <summary>The board has been unreadable for the grace period: from now on the instance judges alone.</summary>
    internal void GiveUp() => _givenUp = true;

    internal void Lost(string error)
    {
        var since = Volatile.Read(ref _problem)?.Since ?? time.GetUtcNow();
        Volatile.Write(ref _problem, new BoardProblem(error, since));
    }
}

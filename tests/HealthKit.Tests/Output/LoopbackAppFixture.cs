// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Output;

/// <summary>One <see cref="DetailsApp.StartWithLoopbackAsync"/> app shared by a test class that only reads from it.</summary>
public sealed class LoopbackAppFixture : IAsyncLifetime
{
    private KestrelApp? _app;

    public KestrelApp App => _app ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _app = await DetailsApp.StartWithLoopbackAsync();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

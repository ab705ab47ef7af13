// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Output;

/// <summary>
/// One <see cref="DetailsApp.StartWithPolicyAsync"/> app shared by a test class whose requests do not change its
/// state, so a long list of cases costs one host start.
/// </summary>
public sealed class PolicyAppFixture : IAsyncLifetime
{
    private KestrelApp? _app;

    public KestrelApp App => _app ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _app = await DetailsApp.StartWithPolicyAsync();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

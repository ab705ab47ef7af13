// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Checks;
using HealthKit.Lifecycle;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// When HealthKit's start-up work may begin, on fake time: once the app's first request has been answered, when a
/// probe asks, after the quiet-start delay when nobody asks anything, at once in a host without a server; once only,
/// and never after the host began to stop. On a real app on Kestrel: <see cref="StartupWorkTests"/>.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class StartupWorkRulesTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task HostStarted_NobodyAsks_BeginsWhenTheQuietStartHasPassed()
    {
        using var work = Create(hasServer: true);
        var begun = Watch(work);

        work.HostStarted();
        _time.Advance(StartupWork.QuietStart - TimeSpan.FromTicks(1));
        var pendingJustBefore = work.IsPending;
        _time.Advance(TimeSpan.FromTicks(1));

        Assert.True(pendingJustBefore);
        Assert.False(work.IsPending);
        await begun.WaitAsync(Bound);
    }

    [Fact]
    public async Task HostStarted_WithoutServer_BeginsAtOnce()
    {
        using var work = Create(hasServer: false);
        var begun = Watch(work);

        work.HostStarted();

        Assert.False(work.IsPending);
        await begun.WaitAsync(Bound);
    }

    [Fact]
    public async Task OnRequest_BeginsOnceTheResponseHasCompleted_NotBefore()
    {
        using var work = Create(hasServer: true);
        var begun = Watch(work);
        work.HostStarted();
        var response = new CompletingResponse();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseFeature>(response);

        work.OnRequest(context);
        var pendingWhileAnswering = work.IsPending;
        await response.CompleteAsync();

        Assert.True(pendingWhileAnswering);
        Assert.False(work.IsPending);
        await begun.WaitAsync(Bound);
    }

    [Fact]
    public async Task OnProbe_BeforeTheQuietStart_BeginsOnce()
    {
        using var work = Create(hasServer: true);
        var callbacks = 0;
        var begun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Begun.Register(() =>
        {
            Interlocked.Increment(ref callbacks);
            begun.TrySetResult();
        });
        work.HostStarted();

        work.OnProbe();
        await begun.Task.WaitAsync(Bound);
        work.OnProbe();
        _time.Advance(StartupWork.QuietStart);

        // A token fires its callbacks once, whoever cancels; what can go wrong is a second firing that throws.
        Assert.Equal(1, Volatile.Read(ref callbacks));
        Assert.False(work.IsPending);
    }

    [Fact]
    public void Dispose_BeforeItBegan_NeverBegins()
    {
        var work = Create(hasServer: true);
        work.HostStarted();

        work.Dispose();
        _time.Advance(StartupWork.QuietStart);
        work.OnProbe();

        // Dispose marks the work as begun before the timer or the probe could: neither queues the token's cancel.
        Assert.False(work.IsPending);
        Assert.False(work.Begun.IsCancellationRequested);
    }

    private StartupWork Create(bool hasServer)
    {
        var services = new ServiceCollection();
        if (hasServer)
        {
            services.AddSingleton<IServer>(_ => throw new NotSupportedException("Only its registration is read."));
        }

        return new StartupWork(_time, new RegisteredServices(services), NullLogger<StartupWork>.Instance);
    }

    private static Task Watch(StartupWork work)
    {
        var begun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Begun.Register(() => begun.TrySetResult());
        return begun.Task;
    }

    /// <summary>A response whose completion the test decides, as Kestrel decides it once the response is sent.</summary>
    private sealed class CompletingResponse : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _completed = [];

        public override void OnCompleted(Func<object, Task> callback, object state) => _completed.Add((callback, state));

        public async Task CompleteAsync()
        {
            foreach (var (callback, state) in _completed)
            {
                await callback(state);
            }
        }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Runtime.CompilerServices;
using HealthKit.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Evaluation;

/// <summary>An evaluator in process on a <see cref="FakeTimeProvider"/>, with HealthKit's configuration and fake logs.</summary>
internal sealed class TestEvaluator : IAsyncDisposable
{
    private TestEvaluator(ServiceProvider services, FakeTimeProvider time)
    {
        Services = services;
        Time = time;
    }

    public ServiceProvider Services { get; }

    public FakeTimeProvider Time { get; }

    public HealthEvaluator Evaluator => Services.GetRequiredService<HealthEvaluator>();

    public FakeLogCollector Logs => Services.GetFakeLogCollector();

    public static TestEvaluator Create(
        Action<DeployHealthBuilder> checks,
        IDictionary<string, string?>? configuration = null,
        Action<IServiceCollection>? services = null)
    {
        var time = new FakeTimeProvider();
        var collection = new ServiceCollection();
        var settings = new Dictionary<string, string?> { ["DeployHealth:AutoDiscover"] = "false" };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        collection.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        collection.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        collection.AddSingleton<TimeProvider>(time);
        checks(collection.AddDeployHealth());
        services?.Invoke(collection);
        return new TestEvaluator(collection.BuildServiceProvider(), time);
    }

    /// <summary>
    /// An evaluator configured in code rather than from configuration (automatic discovery off), on a fake clock
    /// unless <paramref name="time"/> says otherwise; the caller disposes the services.
    /// </summary>
    public static (HealthEvaluator Evaluator, FakeTimeProvider Time, FakeLogCollector Logs, ServiceProvider Services) WithOptions(
        Action<DeployHealthBuilder> checks, Action<DeployHealthOptions>? configure = null, TimeProvider? time = null)
    {
        var fake = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton(time ?? fake);
        var builder = services.AddDeployHealth(o =>
        {
            o.AutoDiscover = false;
            configure?.Invoke(o);
        });
        checks(builder);
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<HealthEvaluator>(), fake, provider.GetFakeLogCollector(), provider);
    }

    /// <summary>A check that counts its runs and returns what <paramref name="result"/> says.</summary>
    public static Func<HealthCheckResult> Counted(StrongBox<int> calls, Func<HealthCheckResult>? result = null) => () =>
    {
        Interlocked.Increment(ref calls.Value);
        return result?.Invoke() ?? HealthCheckResult.Healthy();
    };

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

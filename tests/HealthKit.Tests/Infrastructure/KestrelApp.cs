// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real application on Kestrel, listening on 127.0.0.1 with a free port, with every log entry collected.
/// The one place tests build a host on the wire; what differs between tests is passed in.
/// </summary>
public sealed class KestrelApp : IAsyncDisposable
{
    private KestrelApp(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>HealthKit's probe listener on loopback (<c>DeployHealth:ProbeListener:Port</c>).</summary>
    /// <exception cref="InvalidOperationException">The app has no probe listener.</exception>
    public Uri ProbeAddress =>
        App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DeployHealthOptions>>().Value.ProbeListener.Port is { } port
            ? new Uri($"http://127.0.0.1:{port}/")
            : throw new InvalidOperationException("DeployHealth:ProbeListener:Port is not set for this app.");

    public FakeLogCollector Logs => App.Services.GetFakeLogCollector();

    public static async Task<KestrelApp> StartAsync(
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null,
        IDictionary<string, string?>? configuration = null,
        string environment = "Production")
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(KestrelApp).Assembly.GetName().Name,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");

        // Production's 10 s drain would hold every test's shutdown; tests of the drain set their own.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DeployHealth:Drain:Delay"] = "00:00:00" });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        configureBuilder?.Invoke(builder);

        var app = builder.Build();
        configureApp?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KestrelApp(app, new Uri(address));
    }

    /// <summary>Polls the collected logs until an entry with <paramref name="eventName"/> appears, for at most 10 s.</summary>
    public async Task<FakeLogRecord> WaitForLogAsync(string eventName)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until)
        {
            var found = Logs.GetSnapshot().FirstOrDefault(r => r.Id.Name == eventName);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No log entry '{eventName}' within 10 s. Logged: {string.Join(" | ", Logs.GetSnapshot().Select(r => r.Id.Name + ": " + r.Message))}");
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

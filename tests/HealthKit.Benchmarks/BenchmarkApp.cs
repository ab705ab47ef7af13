// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace HealthKit.Benchmarks;

/// <summary>
/// A real <see cref="WebApplication"/> in Production, started on an <see cref="InProcessServer"/> so that a request
/// costs the pipeline and nothing of the network. Logging providers are cleared: every scenario would pay the same
/// console logger, and it would only blur the differences being measured.
/// </summary>
public sealed class BenchmarkApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly InProcessServer _server;

    private BenchmarkApp(WebApplication app, InProcessServer server)
    {
        _app = app;
        _server = server;
    }

    public static async Task<BenchmarkApp> StartAsync(
        Action<WebApplicationBuilder> configureServices,
        Action<WebApplication> configureApp,
        IDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        var server = new InProcessServer();
        builder.WebHost.UseServer(server);
        configureServices(builder);

        var app = builder.Build();
        configureApp(app);
        await app.StartAsync().ConfigureAwait(false);
        return new BenchmarkApp(app, server);
    }

    /// <summary>Gets the app's services, for a benchmark that measures one of HealthKit's parts as the app built it.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Sends one request, its response discarded: the measured operation.</summary>
    public Task SendAsync(IFeatureCollection request) => _server.SendAsync(request);

    /// <summary>Sends one request and returns what a client would read, to check a scenario before measuring it.</summary>
    public async Task<(int Status, string Body)> GetAsync(string path, string host = BenchmarkRequest.ProbeHost)
    {
        using var body = new MemoryStream();
        var request = BenchmarkRequest.Create(path, host, body: body);
        await _server.SendAsync(request).ConfigureAwait(false);
        return (request.Get<IHttpResponseFeature>()!.StatusCode, Encoding.UTF8.GetString(body.ToArray()));
    }

    /// <summary>Fails the benchmark run when a scenario does not answer as intended, instead of measuring a 404.</summary>
    public async Task ExpectAsync(string path, int status, string body)
    {
        var (actualStatus, actualBody) = await GetAsync(path).ConfigureAwait(false);
        if (actualStatus != status || actualBody != body)
        {
            throw new InvalidOperationException($"GET {path}: expected {status} '{body}', got {actualStatus} '{actualBody}'.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

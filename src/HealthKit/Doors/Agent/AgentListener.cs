// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Balancers;
using HealthKit.Verdict;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.Agent;

/// <summary>
/// An HAProxy <c>agent-check</c> listener: one line per connection, then close. It answers from the drain state and
/// the last readiness result without waiting for a dependency; a result older than the cache period starts one
/// evaluation in the background (or joins the running one), so any number of agent connections cost at most one
/// evaluation per <see cref="DeployHealthOptions.CacheDuration"/>, and the agent notices a failing dependency even
/// when it is the only prober.
/// </summary>
internal sealed partial class AgentListener(
    HealthVerdict verdict,
    IOptions<DeployHealthOptions> options,
    ILogger<AgentListener> logger,
    ProberLedger? balancers = null) : BackgroundService
{
    private static readonly byte[] Up = "up ready\n"u8.ToArray();
    private static readonly byte[] Drain = "drain #draining\n"u8.ToArray();
    private static readonly byte[] Starting = "down #starting\n"u8.ToArray();

    private TcpListener? _listener;

    /// <summary>
    /// Binds before the host finishes starting: BackgroundService runs ExecuteAsync in the background, so a bind there
    /// could come after HAProxy's first agent check, and a port already in use would not stop the start.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.AgentPort is { } port)
        {
            _listener = new TcpListener(IPAddress.Parse(settings.AgentAddress), port);
            _listener.Start();
            Log.Listening(logger, settings.AgentAddress, port);
        }

        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is not { } listener)
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(stoppingToken).ConfigureAwait(false);
                _ = AnswerAsync(client, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    internal byte[] CurrentLine()
    {
        // The agent answers now from what is known, and HAProxy asks again every agent-inter; the verdict starts a
        // refresh when the result is stale, so an agent-only setup (no httpchk, no background evaluation) still
        // notices a failing dependency.
        var current = verdict.Readiness();
        return current.Cause switch
        {
            _ when current.IsUp => Up,
            VerdictReason.Draining => Drain,
            VerdictReason.Starting => Starting,

            // Names of failing checks only: the agent line shows in HAProxy's stats page, so no exception text.
            VerdictReason.ChecksFailing => Encoding.ASCII.GetBytes("down #" + string.Join(',', current.FailingChecks) + " unhealthy\n"),
            _ => Encoding.ASCII.GetBytes("down #" + current.Reason + "\n"),
        };
    }

    private async Task AnswerAsync(TcpClient client, CancellationToken stoppingToken)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                await using (stream.ConfigureAwait(false))
                {
                    var line = CurrentLine();
                    balancers?.Record(ProberDoor.Agent, (client.Client.RemoteEndPoint as IPEndPoint)?.Address, default, "agent-check", ProbeShape.None, ReferenceEquals(line, Up) ? 200 : 503, ProberRole.Readiness);
                    await stream.WriteAsync(line, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // HAProxy closed first; the next agent check asks again.
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, EventName = "AgentListening", Level = LogLevel.Information,
            Message = "HAProxy agent-check listener on {Address}:{Port}.")]
        public static partial void Listening(ILogger logger, string address, int port);
    }
}

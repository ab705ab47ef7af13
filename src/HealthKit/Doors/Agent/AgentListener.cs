// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Text;
using HealthKit.Balancers;
using HealthKit.Sockets;
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
/// when it is the only prober. Like the probe listener it is served by a <see cref="SocketLoop"/> on a thread of its
/// own, never the thread pool, so it answers while the app's requests starve the pool: the line is written as the
/// connection is accepted, then the loop half-closes and reads what the agent sends until it closes.
/// </summary>
internal sealed partial class AgentListener(
    HealthVerdict verdict,
    IOptions<DeployHealthOptions> options,
    TimeProvider time,
    ILogger<AgentListener> logger,
    ProberLedger? balancers = null) : IHostedService, IDisposable, ISocketProtocol
{
    /// <summary>
    /// 2 s from accept to the line's last byte sent (an agent that does not read it is dropped), 1 s of lingering close
    /// after it, whatever the agent sends (<c>agent-send</c>); beyond 1,024 connections the oldest is closed, as on the
    /// probe listener. Agent connections live for milliseconds, so few are open at once.
    /// </summary>
    internal static readonly SocketLimits Limits = new()
    {
        MaxConnections = 1024,
        AcceptBatch = 64,
        ReadDeadline = TimeSpan.FromSeconds(2),
        AnswerDeadline = TimeSpan.FromSeconds(2),
        LingerDeadline = TimeSpan.FromSeconds(1),
        MaxDrainBytes = 16 * 1024,
    };

    private static readonly byte[] Up = "up ready\n"u8.ToArray();
    private static readonly byte[] Drain = "drain #draining\n"u8.ToArray();
    private static readonly byte[] Starting = "down #starting\n"u8.ToArray();

    private SocketLoop? _loop;

    /// <summary>
    /// Binds while the host starts, before HAProxy's first agent check can come; a port already in use stops the start.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Agent.Port is not { } port)
        {
            return Task.CompletedTask;
        }

        // A thread of its own, never the pool's: HAProxy takes a server out when its agent stops answering.
        var loop = new SocketLoop("HealthKit agent", Limits, this, time);
        loop.Start(IPAddress.Parse(settings.Agent.Address), port);
        _loop = loop;
        Log.Listening(logger, settings.Agent.Address, port);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _loop?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _loop?.Dispose();

    /// <summary>The line, as soon as the connection is accepted: the agent speaks first and reads nothing.</summary>
    public SocketReply Answer(SocketRequest request)
    {
        var line = CurrentLine();
        balancers?.Record(ProberDoor.Agent, request.Peer, default, "agent-check", ProbeShape.None, ReferenceEquals(line, Up) ? 200 : 503, ProberRole.Readiness);
        return new SocketReply(line);
    }

    public void AcceptFailed(SocketError error) => Log.AcceptFailed(logger, error.ToString());

    public void AnswerFailed(Exception exception) => Log.AnswerFailed(logger, exception);

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

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, EventName = "AgentListening", Level = LogLevel.Information,
            Message = "HAProxy agent-check listener on {Address}:{Port}.")]
        public static partial void Listening(ILogger logger, string address, int port);

        [LoggerMessage(EventId = 510, EventName = "AgentAcceptFailed", Level = LogLevel.Debug,
            Message = "The agent listener could not accept a connection: {Error}.")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 511, EventName = "AgentAnswerFailed", Level = LogLevel.Warning,
            Message = "The agent listener could not answer a connection; the next agent check is answered as usual.")]
        public static partial void AnswerFailed(ILogger logger, Exception exception);
    }
}

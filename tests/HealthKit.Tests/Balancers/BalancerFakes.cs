// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using HealthKit.Balancers;
using HealthKit.Probing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Balancers;

/// <summary>A ledger with its warnings on a fake clock and a fake logger, and probes as plain inputs.</summary>
internal sealed class BalancerFakes
{
    public static readonly IPAddress Balancer = IPAddress.Parse("10.0.0.5");

    public BalancerFakes(DeployHealthOptions? options = null)
    {
        Options = options ?? new DeployHealthOptions();
        Paths = new ProbeRoute(Microsoft.Extensions.Options.Options.Create(Options));
        Warnings = new ProberWarnings(Time, Logger);
        Ledger = new ProberLedger(Time, Paths, Warnings);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    public FakeLogger<ProberWarnings> Logger { get; } = new();

    public DeployHealthOptions Options { get; }

    public ProbeRoute Paths { get; }

    public ProberWarnings Warnings { get; }

    public ProberLedger Ledger { get; }

    public IOptions<DeployHealthOptions> OptionsValue => Microsoft.Extensions.Options.Options.Create(Options);

    /// <summary>One probe answered <paramref name="status"/>, then the clock moves by <paramref name="then"/>.</summary>
    public void Probe(string userAgent, string path, int status, TimeSpan then = default, IPAddress? peer = null, ProbeShape shape = ProbeShape.None, ProberRole role = ProberRole.Readiness)
    {
        Ledger.Record(ProberDoor.Http, peer ?? Balancer, userAgent, path, shape, status, role);
        Time.Advance(then);
    }

    /// <summary>A request as the first middleware sees it, from the balancer's address.</summary>
    public static DefaultHttpContext Request(string method, string path, string protocol, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Protocol = protocol;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        context.Connection.RemoteIpAddress = Balancer;
        return context;
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;
using HealthKit.Tests.Lifecycle;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// Real HAProxy running samples/deploy/haproxy.cfg with each form of its HTTP check, against a hardened app: the
/// server goes UP, DOWN and UP with readiness, as HAProxy's stats socket reports it.
/// </summary>
public sealed class HaproxyProberTests
{
    private const string SampleCheck = "    option httpchk GET /health";

    public static TheoryData<string, string> CheckForms => new()
    {
        // GET /health HTTP/1.0, no Host: the middleware answers it.
        { "GET", SampleCheck },

        // No method: OPTIONS /health HTTP/1.0.
        { "OPTIONS", "    option httpchk /health" },

        // HTTP/1.1 without "hdr host": Kestrel would refuse it with 400; the connection door answers it.
        { "HTTP/1.1 without Host", "    option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1" },

        // The same with a Host header, as HAProxy's documentation writes it.
        { "HTTP/1.1 with Host", "    option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1 hdr host 10.0.1.11" },
    };

    [Theory]
    [MemberData(nameof(CheckForms))]
    public async Task HttpCheck_EachForm_UpDownUpWithReadiness(string form, string checkLines)
    {
        await using var app = await ProberApp.StartAsync();
        await using var haproxy = await HaproxyServer.StartAsync((port, socket) =>
        {
            var config = DeploySamples.Load("haproxy.cfg", new Dictionary<string, string>
            {
                ["APP1"] = app.HostPort,
                ["APP2"] = app.HostPort,
                ["LISTEN"] = $"127.0.0.1:{port}",
                ["STATS_SOCKET"] = socket,
            });
            Assert.Contains(SampleCheck + "\n", config);
            return config.Replace(SampleCheck + "\n", checkLines + "\n", StringComparison.Ordinal);
        });

        await app.CycleAsync(
            $"HAProxy ({form})",
            async () => (await haproxy.GetServerStatusAsync("app", "app1")) == "UP",
            () => HaproxyStats.DescribeAsync(haproxy, "app", "app1"));
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Balancers;
using Microsoft.Extensions.Logging;

namespace HealthKit.Tests.Balancers;

[Trait("Tier", "Fast")]
public sealed class ProberWarningsTests
{
    private const ProbeShape Bare = ProbeShape.Http10 | ProbeShape.NoHost;

    [Fact]
    public void Record_ElbOnTheAppsPathGets404_WarnsOnceNamingPathStatusAndTheFix()
    {
        var fakes = new BalancerFakes();
        for (var i = 0; i < 5; i++)
        {
            fakes.Probe("ELB-HealthChecker/2.0", "/healthcheck", 404, TimeSpan.FromSeconds(5), role: ProberRole.App);
        }

        var record = Assert.Single(fakes.Logger.Collector.GetSnapshot());
        Assert.Equal(460, record.Id.Id);
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Contains("/healthcheck", record.Message, StringComparison.Ordinal);
        Assert.Contains("404", record.Message, StringComparison.Ordinal);
        Assert.Contains("health check path to /health", record.Message, StringComparison.Ordinal);
        Assert.Single(fakes.Warnings.Current);
    }

    [Fact]
    public void Record_BareHaproxyOptionsOnRoot_WarnsWithTheHaproxyLine()
    {
        var fakes = new BalancerFakes();

        fakes.Probe(string.Empty, "/", 405, shape: Bare, role: ProberRole.App);

        var record = Assert.Single(fakes.Logger.Collector.GetSnapshot());
        Assert.Contains("option httpchk GET /health", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Record_KubeProbeOnHealthz_WarnsWithTheProbeSetting()
    {
        var fakes = new BalancerFakes();

        fakes.Probe("kube-probe/1.31", "/healthz", 404, role: ProberRole.App);

        Assert.Contains("readinessProbe.httpGet.path to /health", Assert.Single(fakes.Logger.Collector.GetSnapshot()).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", 0, 404)]
    [InlineData("curl/8.5.0", 0, 404)]
    [InlineData("", 0, 405)]
    [InlineData("Go-http-client/1.1", 0, 404)]
    [InlineData("ELB-HealthChecker/2.0", 0, 200)]
    [InlineData("ELB-HealthChecker/2.0", 0, 503)]
    public void Record_BrowsersClientsOrAnsweredProbers_NeverWarn(string userAgent, int shape, int status)
    {
        var fakes = new BalancerFakes();

        fakes.Probe(userAgent, "/healthcheck", status, shape: (ProbeShape)shape, role: ProberRole.App);

        Assert.Empty(fakes.Logger.Collector.GetSnapshot());
        Assert.Empty(fakes.Warnings.Current);
    }

    [Fact]
    public void Record_FloodOfMisdirectedIdentities_LogsAtMostTheCapAndSaysSo()
    {
        var fakes = new BalancerFakes();
        for (var i = 0; i < 500; i++)
        {
            fakes.Probe($"ELB-HealthChecker/2.0 {i}", "/x", 404, role: ProberRole.App);
        }

        var records = fakes.Logger.Collector.GetSnapshot();
        Assert.Equal(ProberWarnings.MaxWarnings, records.Count(r => r.Id.Id == 460));
        Assert.Single(records, r => r.Id.Id == 464);
    }

    [Fact]
    public void NoProberSeen_TrafficForThreeAlbIntervalsAndNoReadinessProber_Warns()
    {
        var fakes = new BalancerFakes();
        fakes.Probe("kube-probe/1.31", "/health/live", 200, role: ProberRole.Liveness);

        Assert.False(ProberWarnings.NoProberSeen(fakes.Ledger.Snapshot(), TimeSpan.FromSeconds(89), requests: 100));
        Assert.True(ProberWarnings.NoProberSeen(fakes.Ledger.Snapshot(), TimeSpan.FromSeconds(90), requests: 100));
        Assert.False(ProberWarnings.NoProberSeen(fakes.Ledger.Snapshot(), TimeSpan.FromSeconds(90), requests: 0));

        fakes.Probe("ELB-HealthChecker/2.0", "/health", 200);
        Assert.False(ProberWarnings.NoProberSeen(fakes.Ledger.Snapshot(), TimeSpan.FromSeconds(90), requests: 100));
    }

    [Fact]
    public void Watch_AppServesButNothingProbesForNinetySeconds_WarnsOnce()
    {
        var fakes = new BalancerFakes();
        var watch = new BalancerWatch(fakes.Ledger, fakes.Warnings, fakes.Paths, fakes.OptionsValue, fakes.Time);
        fakes.Ledger.ObserveRequest(BalancerFakes.Request("GET", "/", "HTTP/1.1", ("Host", "shop.example")));

        fakes.Time.Advance(TimeSpan.FromSeconds(60));
        watch.Evaluate();
        Assert.Empty(fakes.Logger.Collector.GetSnapshot());

        fakes.Time.Advance(TimeSpan.FromSeconds(30));
        watch.Evaluate();
        watch.Evaluate();

        var record = Assert.Single(fakes.Logger.Collector.GetSnapshot());
        Assert.Equal(461, record.Id.Id);
        Assert.Contains("No balancer has probed /health in 90 s", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Watch_ProberTooSlowForTheDrainMaximum_WarnsOnce()
    {
        var fakes = new BalancerFakes();
        var watch = new BalancerWatch(fakes.Ledger, fakes.Warnings, fakes.Paths, fakes.OptionsValue, fakes.Time);
        for (var i = 0; i < 4; i++)
        {
            fakes.Probe("ELB-HealthChecker/2.0", "/health", 200, TimeSpan.FromSeconds(30));
        }

        watch.Evaluate();
        watch.Evaluate();

        var record = Assert.Single(fakes.Logger.Collector.GetSnapshot());
        Assert.Equal(462, record.Id.Id);
        Assert.Contains("DeployHealth:Drain:Maximum", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Watch_HaproxyFastEnough_DoesNotWarn()
    {
        var fakes = new BalancerFakes();
        var watch = new BalancerWatch(fakes.Ledger, fakes.Warnings, fakes.Paths, fakes.OptionsValue, fakes.Time);
        for (var i = 0; i < 4; i++)
        {
            fakes.Probe(string.Empty, "/health", 200, TimeSpan.FromSeconds(2), shape: Bare);
        }

        watch.Evaluate();

        Assert.Empty(fakes.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Watch_ProberGoesSilentWhileTrafficFlows_Warns()
    {
        var fakes = new BalancerFakes();
        var watch = new BalancerWatch(fakes.Ledger, fakes.Warnings, fakes.Paths, fakes.OptionsValue, fakes.Time);
        for (var i = 0; i < 4; i++)
        {
            fakes.Probe(string.Empty, "/health", 200, TimeSpan.FromSeconds(2), shape: Bare);
        }

        fakes.Time.Advance(TimeSpan.FromMinutes(2));
        fakes.Ledger.ObserveRequest(BalancerFakes.Request("GET", "/", "HTTP/1.1", ("Host", "shop.example")));
        watch.Evaluate();

        Assert.Contains(fakes.Logger.Collector.GetSnapshot(), r => r.Id.Id == 463);
    }
}

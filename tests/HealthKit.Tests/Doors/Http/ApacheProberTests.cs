// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Tests.Infrastructure;

namespace HealthKit.Tests.Doors.Http;

/// <summary>
/// Real Apache httpd running samples/deploy/apache.conf with mod_proxy_hcheck's methods: GET (HTTP/1.0), GET11
/// (HTTP/1.1) and OPTIONS (<c>OPTIONS * HTTP/1.0</c>, which ignores hcuri), each with the backend's address as Host,
/// against a hardened app: the member goes Ok, HcFl, Ok with readiness, as balancer-manager shows it.
/// </summary>
public sealed class ApacheProberTests
{
    private const string SampleMethod = "hcmethod=GET ";

    [Theory]
    [InlineData("GET")]
    [InlineData("GET11")]
    [InlineData("OPTIONS")]
    [InlineData("OPTIONS11")]
    public async Task Hcheck_EachMethod_OkThenFailedThenOk(string method)
    {
        await using var app = await ProberApp.StartAsync();
        var config = DeploySamples.Load("apache.conf", new Dictionary<string, string> { ["APP"] = app.HostPort });
        Assert.Contains(SampleMethod, config);
        await using var apache = await ApacheServer.StartAsync(config.Replace(SampleMethod, $"hcmethod={method} ", StringComparison.Ordinal));

        await app.CycleAsync(
            $"Apache (hcmethod={method})",
            async () => (await apache.GetMemberStatusAsync("app")) == "Init Ok",
            async () => $"{await apache.GetMemberStatusAsync("app")}; error log: {apache.ErrorLog}");
    }
}

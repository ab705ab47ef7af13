// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Probing;
using Microsoft.Extensions.Options;

namespace HealthKit.Tests.Probing;

/// <summary>The one route, on characters and on bytes alike, and every refusal it gives.</summary>
[Trait("Tier", "Fast")]
public sealed class ProbeRouteTests
{
    private readonly ProbeRoute _route = new(Options.Create(new DeployHealthOptions()));

    [Theory]
    [InlineData("/health", false, "Readiness")]
    [InlineData("/HEALTH/", false, "Readiness")]
    [InlineData("/health/ready", false, "Readiness")]
    [InlineData("/health/Live/", false, "Liveness")]
    [InlineData("/health/ui", true, "StatusPage")]
    [InlineData("/health/ui", false, "None")]
    [InlineData("/healthz", false, "None")]
    [InlineData("/health/x", false, "None")]
    [InlineData("/health%2Flive", false, "None")]
    [InlineData("//health", false, "None")]
    [InlineData("/", false, "None")]
    public void Match_CharsAndBytes_SameKind(string path, bool statusPage, string expectedName)
    {
        var expected = Enum.Parse<ProbeKind>(expectedName);
        Assert.Equal(expected, _route.Match(path.AsSpan(), statusPage));
        Assert.Equal(expected, _route.Match(Encoding.ASCII.GetBytes(path), statusPage));
    }

    [Fact]
    public void Match_MainPort_StatusPageOnlyWithADetailsPolicy()
    {
        var withPolicy = new ProbeRoute(Options.Create(new DeployHealthOptions { DetailsPolicy = "ops" }));

        Assert.Equal(ProbeKind.None, _route.Match(new Microsoft.AspNetCore.Http.PathString("/health/ui")));
        Assert.Equal(ProbeKind.StatusPage, withPolicy.Match(new Microsoft.AspNetCore.Http.PathString("/health/ui")));
    }

    [Theory]
    [InlineData("Readiness", "Get", false, "None")]
    [InlineData("Liveness", "Head", false, "None")]
    [InlineData("Readiness", "Options", false, "None")]
    [InlineData("StatusPage", "Get", false, "None")]
    [InlineData("Readiness", "Other", false, "MethodNotAllowed")]
    [InlineData("StatusPage", "Options", false, "MethodNotAllowed")]
    [InlineData("None", "Get", false, "NotFound")]
    [InlineData("Readiness", "Options", true, "None")]
    [InlineData("Readiness", "Get", true, "BadRequest")]
    public void Refusal_KindVerbAndAsterisk_TheExactAnswer(string kindName, string verbName, bool asterisk, string expectedName)
    {
        var (kind, verb, expected) = (Enum.Parse<ProbeKind>(kindName), Enum.Parse<ProbeVerb>(verbName), Enum.Parse<ProbeRefusal>(expectedName));
        Assert.Equal(expected, ProbeRoute.Refusal(kind, verb, asterisk));
    }

    [Theory]
    [InlineData("MethodNotAllowed", 405)]
    [InlineData("NotFound", 404)]
    [InlineData("BadRequest", 400)]
    public void StatusCode_EachRefusal(string refusalName, int status)
    {
        var refusal = Enum.Parse<ProbeRefusal>(refusalName);
        Assert.Equal(status, ProbeAnswers.StatusCode(refusal));
    }

    [Theory]
    [InlineData("GET", "Get")]
    [InlineData("get", "Other")]
    [InlineData("HEAD", "Head")]
    [InlineData("OPTIONS", "Options")]
    [InlineData("POST", "Other")]
    public void ProbeMethod_CharsAndBytes_SameVerb(string method, string verbName)
    {
        var verb = Enum.Parse<ProbeVerb>(verbName);
        Assert.Equal(verb, ProbeMethod.Parse(method));
        Assert.Equal(verb, ProbeMethod.Parse(Encoding.ASCII.GetBytes(method)));
    }
}

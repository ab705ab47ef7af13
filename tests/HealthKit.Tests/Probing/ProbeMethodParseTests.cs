// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Probing;

namespace HealthKit.Tests.Probing;

/// <summary>Methods are case-sensitive (RFC 9110): the same verb from a string and from the wire's bytes.</summary>
[Trait("Tier", "Fast")]
public sealed class ProbeMethodParseTests
{
    [Theory]
    [InlineData("GET", "Get")]
    [InlineData("HEAD", "Head")]
    [InlineData("OPTIONS", "Options")]
    [InlineData("get", "Other")]
    [InlineData("head", "Other")]
    [InlineData("Head", "Other")]
    [InlineData("options", "Other")]
    [InlineData("POST", "Other")]
    [InlineData("GETX", "Other")]
    [InlineData("", "Other")]
    public void Parse_StringAndWireBytes_SameCaseSensitiveVerb(string method, string verb)
    {
        var expected = Enum.Parse<ProbeVerb>(verb);
        Assert.Equal(expected, ProbeMethod.Parse(method));
        Assert.Equal(expected, ProbeMethod.Parse(System.Text.Encoding.ASCII.GetBytes(method)));
    }
}

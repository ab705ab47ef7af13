// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Lifecycle;

namespace HealthKit.Tests.Lifecycle;

public sealed class ProbeSelfTestTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://[::]:8080", "http://[::1]:8080/")]
    [InlineData("http://+:80", "http://127.0.0.1/")]
    [InlineData("http://*:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://localhost:5000", "http://127.0.0.1:5000/")]
    public void PickTarget_WildcardOrNamedHost_BecomesLoopback(string address, string expected)
    {
        Assert.Equal(new Uri(expected), ProbeSelfTest.PickTarget([address]));
    }

    [Fact]
    public void PickTarget_HttpsAndHttp_PrefersHttp_AsBalancersProbe()
    {
        Assert.Equal(new Uri("http://127.0.0.1:5000/"), ProbeSelfTest.PickTarget(["https://127.0.0.1:5001", "http://127.0.0.1:5000"]));
        Assert.Equal(new Uri("https://127.0.0.1:5001/"), ProbeSelfTest.PickTarget(["https://127.0.0.1:5001"]));
        Assert.Null(ProbeSelfTest.PickTarget([]));
        Assert.Null(ProbeSelfTest.PickTarget(["unix:/tmp/app.sock"]));
    }
}

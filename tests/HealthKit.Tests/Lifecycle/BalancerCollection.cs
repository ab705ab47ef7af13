// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Lifecycle;

/// <summary>
/// Tests that put load through a real balancer and count every failed request run alone, after the parallel tests:
/// on two cores a health check starved by unrelated tests would take a healthy instance out and fail requests that
/// have nothing to do with the drain under test.
/// </summary>
[CollectionDefinition("balancer load", DisableParallelization = true)]
public sealed class BalancerCollection
{
}

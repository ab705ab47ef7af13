// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Balancers;

/// <summary>A warning about the balancers, as logged (its event id) and as the status page shows it.</summary>
/// <param name="EventId">The event id it was logged with.</param>
/// <param name="Text">What is wrong and what to configure instead.</param>
/// <param name="At">When it was raised.</param>
internal sealed record BalancerWarning(int EventId, string Text, DateTimeOffset At);

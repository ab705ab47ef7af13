// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Output;

/// <summary>One check's entry in the health document: its status word and, when not passing, its output.</summary>
public sealed record CheckOutput(string Status, string? Output);

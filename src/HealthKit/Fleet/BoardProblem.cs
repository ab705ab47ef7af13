// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Fleet;

/// <summary>Why the board cannot be read (the last exchange's error) and since when, on the wall clock.</summary>
internal sealed record BoardProblem(string Error, DateTimeOffset Since);

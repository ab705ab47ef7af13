// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Sample.Data;

/// <summary>A short note a visitor leaves on the Notes page.</summary>
public sealed class Note
{
    public const int MaxTextLength = 200;

    public int Id { get; set; }

    public required string Text { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

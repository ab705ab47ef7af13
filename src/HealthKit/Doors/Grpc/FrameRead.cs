// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Doors.Grpc;

/// <summary>What <see cref="GrpcHealthWire.TryReadFrame"/> found.</summary>
internal enum FrameRead
{
    NeedMore,
    Complete,
    Malformed,
    TooLarge,
    Compressed,
}

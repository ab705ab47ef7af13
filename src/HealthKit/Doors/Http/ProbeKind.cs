// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Doors.Http;

internal enum ProbeKind
{
    None,
    Readiness,
    Liveness,
    StatusPage,
}

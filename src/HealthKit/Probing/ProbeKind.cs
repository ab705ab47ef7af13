// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

internal enum ProbeKind
{
    None,
    Readiness,
    Liveness,
    StatusPage,
}

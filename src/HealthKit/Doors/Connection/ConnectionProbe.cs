// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Doors.Http;

namespace HealthKit.Doors.Connection;

/// <summary>The probe found in a request head: its method and which verdict it asks for.</summary>
internal readonly record struct ConnectionProbe(ProbeVerb Verb, ProbeKind Kind);

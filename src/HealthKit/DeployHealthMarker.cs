// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>Marks a service collection to which HealthKit was added, so a second call adds nothing twice.</summary>
internal sealed class DeployHealthMarker;

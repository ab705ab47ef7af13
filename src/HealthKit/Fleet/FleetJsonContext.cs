// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.Json.Serialization;

namespace HealthKit.Fleet;

/// <summary>Source-generated JSON for board entries: no reflection on each exchange.</summary>
[JsonSerializable(typeof(FleetEntry))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class FleetJsonContext : JsonSerializerContext
{
}

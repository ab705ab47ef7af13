// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Resources;

/// <summary>A directory the app writes, and what it writes there (named in the check's description).</summary>
internal sealed record WrittenDirectory(string Role, string Path);

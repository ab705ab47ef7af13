// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Output;

internal enum DetailsDecision
{
    /// <summary>No credentials that satisfy the policy: the caller gets the anonymous answer.</summary>
    Anonymous,

    /// <summary>Authenticated, but the policy refuses: the status page answers 403.</summary>
    Forbidden,

    /// <summary>The caller may see details.</summary>
    Allowed,
}

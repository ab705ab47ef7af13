// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>How <see cref="ProbeRoute.Refusal"/> turns a request down, or <see cref="None"/> when it is to be answered.</summary>
internal enum ProbeRefusal
{
    /// <summary>A probe: answer it from the verdict.</summary>
    None,

    /// <summary>Not a probe path: the app's (on the main port) or 404 (on HealthKit's own listener).</summary>
    NotFound,

    /// <summary>A probe path with a method it does not take: 405 with <c>Allow</c>.</summary>
    MethodNotAllowed,

    /// <summary>The asterisk form with a method other than OPTIONS: 400.</summary>
    BadRequest,
}

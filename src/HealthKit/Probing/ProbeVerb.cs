// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>What a request method means to a probe door, as <see cref="ProbeMethod"/> reads it.</summary>
internal enum ProbeVerb
{
    /// <summary>Any other method, <c>get</c> and <c>head</c> in lower case included: 405 with <c>Allow</c>.</summary>
    Other,

    /// <summary><c>GET</c>: status, headers and body.</summary>
    Get,

    /// <summary><c>HEAD</c>: the same status and headers as GET, no body.</summary>
    Head,

    /// <summary><c>OPTIONS</c>: the same status as GET, <c>Allow</c>, no body (HAProxy's <c>option httpchk /path</c>).</summary>
    Options,
}

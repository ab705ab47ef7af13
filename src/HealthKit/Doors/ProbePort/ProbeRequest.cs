// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Doors.ProbePort;

/// <summary>What the probe listener needs from a request head: the method, the path and the Accept header.</summary>
internal enum ProbeRequestParse
{
    /// <summary>The head is not complete yet: read more.</summary>
    Incomplete,

    /// <summary>A complete, well-formed HTTP/1.x head.</summary>
    Complete,

    /// <summary>Not an HTTP/1.x request head: 400, then close.</summary>
    Malformed,

    /// <summary>A version other than HTTP/1.0 or HTTP/1.1 (an HTTP/2 preface): 505, then close.</summary>
    UnsupportedVersion,
}

/// <summary>
/// Reads a request head the way the probe listener answers it: request line and headers up to the empty line,
/// origin-form (<c>/health?x</c>), absolute-form (<c>http://host/health</c>) or asterisk-form (<c>*</c>) targets,
/// no body. Ranges index into the caller's buffer, so parsing allocates nothing.
/// </summary>
internal readonly struct ProbeRequest
{
    private ProbeRequest(Range method, Range path, Range accept, bool asterisk)
    {
        Method = method;
        Path = path;
        Accept = accept;
        IsAsterisk = asterisk;
    }

    public Range Method { get; }

    /// <summary>The path without its query; empty for the asterisk form.</summary>
    public Range Path { get; }

    /// <summary>The Accept header's value, or an empty range.</summary>
    public Range Accept { get; }

    public bool IsAsterisk { get; }

    public static ProbeRequestParse TryParse(ReadOnlySpan<byte> data, out ProbeRequest request)
    {
        request = default;
        var end = data.IndexOf("\r\n\r\n"u8);
        var endLength = 4;
        var bareEnd = data.IndexOf("\n\n"u8);
        if (bareEnd >= 0 && (end < 0 || bareEnd < end))
        {
            // RFC 9112 lets a recipient accept a bare LF as a line terminator; some hand-written probes send it.
            end = bareEnd;
            endLength = 2;
        }

        if (end < 0)
        {
            return ProbeRequestParse.Incomplete;
        }

        var head = data[..(end + endLength)];
        var lineEnd = head.IndexOf((byte)'\n');
        var line = TrimCr(head[..lineEnd]);
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            return ProbeRequestParse.Malformed;
        }

        var afterMethod = line[(firstSpace + 1)..];
        var secondSpace = afterMethod.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return ProbeRequestParse.Malformed;
        }

        var target = afterMethod[..secondSpace];
        var version = afterMethod[(secondSpace + 1)..];
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8))
        {
            return ProbeRequestParse.Malformed;
        }

        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return ProbeRequestParse.UnsupportedVersion;
        }

        var targetStart = firstSpace + 1;
        Range path;
        var asterisk = false;
        if (target.SequenceEqual("*"u8))
        {
            asterisk = true;
            path = new Range(targetStart, targetStart);
        }
        else if (target[0] == (byte)'/')
        {
            path = new Range(targetStart, targetStart + PathLength(target));
        }
        else if (AuthorityEnd(target) is var authorityEnd and > 0)
        {
            // Absolute form: the path starts after the authority ("http://10.0.0.5:8081/health" is "/health").
            var rest = target[authorityEnd..];
            path = new Range(targetStart + authorityEnd, targetStart + authorityEnd + PathLength(rest));
        }
        else
        {
            return ProbeRequestParse.Malformed;
        }

        var accept = new Range(0, 0);
        var offset = lineEnd + 1;
        while (offset < head.Length)
        {
            var next = head[offset..].IndexOf((byte)'\n');
            var header = TrimCr(head.Slice(offset, next));
            if (header.IsEmpty)
            {
                break;
            }

            var colon = header.IndexOf((byte)':');
            if (colon <= 0)
            {
                return ProbeRequestParse.Malformed;
            }

            if (header[..colon].Length == 6 && System.Text.Ascii.EqualsIgnoreCase(header[..colon], "Accept"u8))
            {
                var value = header[(colon + 1)..];
                var leading = value.Length - value.TrimStart((byte)' ').Length;
                var valueStart = offset + colon + 1 + leading;
                accept = new Range(valueStart, valueStart + value.Trim((byte)' ').Length);
            }

            offset += next + 1;
        }

        request = new ProbeRequest(new Range(0, firstSpace), path, accept, asterisk);
        return ProbeRequestParse.Complete;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;

    private static int PathLength(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOfAny((byte)'?', (byte)'#');
        return query < 0 ? target.Length : query;
    }

    /// <summary>Where the path of an absolute-form target starts, or -1 when the target is not one.</summary>
    private static int AuthorityEnd(ReadOnlySpan<byte> target)
    {
        int schemeLength;
        if (target.StartsWith("http://"u8))
        {
            schemeLength = 7;
        }
        else if (target.StartsWith("https://"u8))
        {
            schemeLength = 8;
        }
        else
        {
            return -1;
        }

        var slash = target[schemeLength..].IndexOf((byte)'/');
        return slash < 0 ? -1 : schemeLength + slash;
    }
}

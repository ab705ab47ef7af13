// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.RegularExpressions;

namespace HealthKit.Output;

/// <summary>
/// Strips what must not leave the process even for an authorized caller: connection-string secrets and hosts,
/// credentials in URLs, network endpoints and the machine's own name (Npgsql and StackExchange.Redis put host names,
/// addresses, ports and the client name, which defaults to the machine name, in their messages). What remains says
/// what failed without saying where or with what.
/// </summary>
internal static partial class Redactor
{
    private const string Hidden = "***";

    /// <summary>The host name, as StackExchange.Redis and others report it; blank when the platform has none.</summary>
    private static readonly string MachineName = ReadMachineName();

    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        // Only the first line: a message never needs more, and a stack trace is never shown.
        var newline = text.AsSpan().IndexOfAny('\r', '\n');
        if (newline >= 0)
        {
            text = text[..newline];
        }

        text = SecretPair().Replace(text, m => m.Groups["key"].Value + "=" + Hidden);
        text = NamePair().Replace(text, m => m.Groups["key"].Value + "=" + Hidden);
        text = DiagnosticPair().Replace(text, m => m.Groups["key"].Value + ": " + Hidden);
        text = UrlCredentials().Replace(text, "${scheme}://" + Hidden + "@");
        text = Endpoint().Replace(text, Hidden);
        text = ReplaceWord(text, MachineName);
        return text.Length <= 500 ? text : text[..500] + "…";
    }

    /// <summary>Replaces <paramref name="word"/> where it stands as a whole host-name token (not inside a longer name).</summary>
    private static string ReplaceWord(string text, string word)
    {
        if (word.Length < 2)
        {
            return text;
        }

        var start = 0;
        while (start < text.Length)
        {
            var index = text.IndexOf(word, start, StringComparison.OrdinalIgnoreCase);
            if (index < 0)
            {
                break;
            }

            var end = index + word.Length;
            if ((index == 0 || !IsNameChar(text[index - 1])) && (end == text.Length || !IsNameChar(text[end])))
            {
                text = string.Concat(text.AsSpan(0, index), Hidden, text.AsSpan(end));
                start = index + Hidden.Length;
            }
            else
            {
                start = end;
            }
        }

        return text;
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    private static string ReadMachineName()
    {
        try
        {
            return Environment.MachineName;
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }

    // Secrets: an unquoted value runs to the next ';' or the end, since passwords may hold spaces and commas
    // ("Password=correct horse battery staple" is a valid connection string).
    [GeneratedRegex(
        @"(?<key>password|pwd|passwd|secret|token|accountkey|sharedaccesskey|access\s?key|api\s?key)\s*=\s*(""[^""]*""?|'[^']*'?|[^;]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPair();

    // Names and places: the value runs to whitespace or ';', commas included, for host lists (Host=pg1,pg2).
    [GeneratedRegex(
        @"(?<key>user\s?id|uid|username|user|host|server|data\s?source|address|addr|endpoint|database|initial\s?catalog)\s*=\s*(""[^""]*""?|'[^']*'?|[^;\s]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NamePair();

    // StackExchange.Redis's diagnostics: "serverEndpoint: redis-primary:6379, ... clientName: web-7f9c(SE.Redis-v2.7.27)".
    [GeneratedRegex(
        @"\b(?<key>serverEndpoint|endpoint|clientName|client|hostname|host|machine)\s*:\s*[^,;\s]+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DiagnosticPair();

    [GeneratedRegex(@"(?<scheme>[a-z][a-z0-9+.-]*)://[^/\s@]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlCredentials();

    // IPv4 with optional port, bracketed IPv6 with optional port, host:port (any host name, dotted or a single label
    // such as a container's service name), and names under common internal and public suffixes.
    [GeneratedRegex(
        @"\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b|\[[0-9a-f:.]+\](:\d{1,5})?|\b[a-z][a-z0-9-]*(\.[a-z0-9-]+)*:\d{1,5}\b|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(internal|local|lan|corp|com|net|org|io|cloud|amazonaws\.com)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Endpoint();
}

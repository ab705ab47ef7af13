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

    // The text patterns run on: enough for any message (the output is cut at 500), and a bound on the work a check
    // that returns megabytes can cause. The timeout is a backstop for the same: on it everything is hidden.
    private const int InputLimit = 2000;
    private const int MatchTimeoutMilliseconds = 1000;

    /// <summary>The host name, as StackExchange.Redis and others report it; blank when the platform has none.</summary>
    private static readonly string MachineName = ReadMachineName();

    public static string Redact(string? text) => Redact(text, [], []);

    /// <summary>
    /// Redacts <paramref name="text"/>: first the exact <paramref name="secrets"/> (anywhere) and
    /// <paramref name="names"/> (as whole names) the app configures, then the shapes secrets and endpoints take.
    /// </summary>
    public static string Redact(string? text, IReadOnlyList<string> names, IReadOnlyList<string> secrets)
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

        if (text.Length > InputLimit)
        {
            // Cut at a space where there is one, so no secret is cut in two and left half for the patterns to miss.
            var space = text.AsSpan(0, InputLimit).LastIndexOf(' ');
            text = text[..(space > 0 ? space : InputLimit)];
        }

        try
        {
            text = RedactLine(text, names, secrets);
        }
        catch (RegexMatchTimeoutException)
        {
            return Hidden;
        }

        return text.Length <= 500 ? text : text[..500] + "…";
    }

    private static string RedactLine(string text, IReadOnlyList<string> names, IReadOnlyList<string> secrets)
    {
        foreach (var secret in secrets)
        {
            text = text.Replace(secret, Hidden, StringComparison.Ordinal);
        }

        foreach (var name in names)
        {
            text = ReplaceWord(text, name);
        }

        text = Bearer().Replace(text, "${scheme} " + Hidden);
        text = Jwt().Replace(text, Hidden);
        text = AwsAccessKey().Replace(text, Hidden);
        text = SecretPair().Replace(text, m => m.Groups["key"].Value + "=" + Hidden);
        text = NamePair().Replace(text, m => m.Groups["key"].Value + "=" + Hidden);
        text = QuotedName().Replace(text, m => m.Groups["key"].Value + " " + Hidden);
        text = DiagnosticPair().Replace(text, m => m.Groups["key"].Value + ": " + Hidden);
        text = UrlCredentials().Replace(text, "${scheme}://" + Hidden + "@");
        text = IPv6().Replace(text, Hidden);
        text = Endpoint().Replace(text, Hidden);
        text = DottedName().Replace(text, m => IsHostName(m.Value) ? Hidden : m.Value);
        text = NumberedName().Replace(text, m => Array.IndexOf(NotHosts, m.Value) >= 0 ? m.Value : Hidden);
        return ReplaceWord(text, MachineName);
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

    // Words shaped like "cache01" that are protocol, format, platform and percentile names, not machines (the
    // pattern is case-sensitive, so these are the lower-case spellings).
    private static readonly string[] NotHosts =
    [
        "http1", "http2", "http3", "http11", "ipv4", "ipv6", "utf8", "utf16", "utf32", "utf-8", "utf-16", "utf-32", "ucs2",
        "sha1", "sha256", "sha384", "sha512", "md5", "base32", "base64", "aes128", "aes256", "tls1", "tls10", "tls11",
        "tls12", "tls13", "ssl3", "oauth1", "oauth2", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float32", "float64", "arm64", "amd64", "x64", "linux-x64", "linux-arm64", "linux-musl-x64", "win-x64",
        "win-arm64", "osx-x64", "osx-arm64", "net5", "net6", "net7", "net8", "net9", "net10", "net11", "ec2", "mp3", "mp4",
        "p50", "p75", "p90", "p95", "p99", "p999", "h2", "h2c", "h3",
    ];

    // The last label of names that are files, not machines: "dotnet.exe", "appsettings.json", "libssl.so".
    private static readonly string[] FileExtensions =
    [
        "json", "xml", "config", "dll", "exe", "so", "dylib", "pdb", "cs", "csproj", "sln", "props", "targets", "cshtml",
        "razor", "txt", "md", "log", "yaml", "yml", "toml", "ini", "conf", "env", "pfx", "pem", "crt", "cer", "key", "db",
        "sqlite", "sql", "csv", "html", "htm", "js", "css", "map", "png", "jpg", "svg", "ico", "zip", "gz", "tar", "nupkg",
        "sh", "ps1", "py", "pid", "sock", "lock", "tmp", "bak", "proto", "wasm",
    ];

    /// <summary>
    /// Whether a lower-case dotted word is a host name rather than a file ("dotnet.exe"), a version ("v1.2.3",
    /// "net10.0"), or an abbreviation ("e.g", "i.e").
    /// </summary>
    private static bool IsHostName(string name)
    {
        var dot = name.LastIndexOf('.');
        if (Array.IndexOf(FileExtensions, name[(dot + 1)..]) >= 0)
        {
            return false;
        }

        // Labels after the first all digits: a version number with its prefix, not a place.
        var first = name.IndexOf('.', StringComparison.Ordinal);
        var rest = name.AsSpan(first + 1);
        if (!rest.ContainsAnyExcept("0123456789."))
        {
            return false;
        }

        // Every label a single character: "e.g", "i.e", "a.m".
        var longest = 0;
        foreach (var label in name.Split('.'))
        {
            longest = Math.Max(longest, label.Length);
        }

        return longest > 1;
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
        @"(?<key>password|pwd|passwd|(?:aws_)?secret(?:_access_key)?|(?:aws_)?session_token|token|accountkey|sharedaccesskey|access\s?key|api\s?key)\s*=\s*(""[^""]*""?|'[^']*'?|[^;]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex SecretPair();

    // Names and places: the value runs to whitespace or ';', commas included, for host lists (Host=pg1,pg2).
    [GeneratedRegex(
        @"(?<key>user\s?id|uid|username|user|host|server|data\s?source|address|addr|endpoint|database|initial\s?catalog)\s*=\s*(""[^""]*""?|'[^']*'?|[^;\s]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex NamePair();

    // StackExchange.Redis's diagnostics: "serverEndpoint: redis-primary:6379, ... clientName: web-7f9c(SE.Redis-v2.7.27)".
    [GeneratedRegex(
        @"\b(?<key>serverEndpoint|endpoint|clientName|client|hostname|host|machine)\s*:\s*[^,;\s]+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex DiagnosticPair();

    // "Authorization: Bearer <token>", "Basic dXNlcjpwYXNz": the credential, when it looks like one (a digit, base64
    // punctuation or mixed case inside), so that "Basic authentication failed" and "bearer tokens" stay words.
    [GeneratedRegex(
        @"\b(?<scheme>(?i:bearer|basic))\s+(?=[A-Za-z._~-]*[0-9+/=_~]|[A-Za-z0-9._~+/=-]*[a-z][A-Z])[A-Za-z0-9._~+/=-]{8,}",
        RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex Bearer();

    // A JSON Web Token: base64url header that starts with {" ("eyJ"), payload, optional signature.
    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?", RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex Jwt();

    // AWS access key ids (long-term AKIA, temporary ASIA, and the other documented prefixes): 20 upper-case characters.
    [GeneratedRegex(@"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b", RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex AwsAccessKey();

    // What PostgreSQL says about a role or a database: 'password authentication failed for user "orders"',
    // 'database "shop" does not exist', 'role "svc" does not exist'.
    [GeneratedRegex(@"\b(?<key>user|role|database|schema|login)\s+(""[^""]*""|'[^']*')", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex QuotedName();

    // IPv6, unbracketed, whole: eight groups, or a "::" abbreviation (with an optional zone and embedded IPv4), so
    // that no part is left behind for the host:port pattern to half-mask.
    [GeneratedRegex(
        @"(?<![0-9a-z:.\[])(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|([0-9a-f]{1,4}:){1,7}:([0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,6})?|::[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,6})(\.\d{1,3}){0,3}(%[0-9a-z]+)?(?![0-9a-z:])",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex IPv6();

    // A bare host name with two or more labels in lower case ("pg-primary.prod.eu-west-1"): type names are Pascal
    // case ("System.TimeoutException") and stay; the match is case-sensitive on purpose.
    // Atomic groups and a start only at a word's start keep it linear: a long run of letters must not backtrack.
    [GeneratedRegex(@"(?<![A-Za-z0-9_.-])(?=[a-z0-9-]*[a-z])(?>[a-z0-9-]+)(?>\.[a-z0-9-]+)+(?![A-Za-z0-9_-]|\.[A-Za-z0-9])", RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex DottedName();

    // A single-label machine name with a number ("cache01", "web3", "pg-2"): letters, an optional hyphen, digits.
    // The letters atomic (a nested "(-?[a-z]+)*" backtracked exponentially on a long word).
    [GeneratedRegex(@"(?<![A-Za-z0-9_.-])(?>[a-z]{2,}(?:-[a-z]+)*)-?\d{1,3}(?![A-Za-z0-9_.-])", RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex NumberedName();

    [GeneratedRegex(@"(?<![a-z0-9+.-])(?<scheme>[a-z](?>[a-z0-9+.-]*))://[^/\s@]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex UrlCredentials();

    // IPv4 with optional port, bracketed IPv6 with optional port, host:port (any host name, dotted or a single label
    // such as a container's service name), and names under common internal and public suffixes.
    // Names start only where a name starts and their labels are atomic, so a long dotted or hyphenated word is one
    // linear pass rather than a retry from every label.
    [GeneratedRegex(
        @"\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b|\[[0-9a-f:.]+\](:\d{1,5})?|(?<![a-z0-9_.-])[a-z](?>[a-z0-9-]*)(?>\.[a-z0-9-]+)*:\d{1,5}\b|(?<![a-z0-9_.-])(?>[a-z0-9-]+)(?>\.[a-z0-9-]+)*\.(internal|local|lan|corp|com|net|org|io|cloud|amazonaws\.com)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeoutMilliseconds)]
    private static partial Regex Endpoint();
}

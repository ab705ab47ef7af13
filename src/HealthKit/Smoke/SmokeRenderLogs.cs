// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthKit.Smoke;

/// <summary>
/// Keeps what the app logs while HealthKit renders a smoke page out of the app's logs: a failing page otherwise makes
/// the app's exception handler (or the developer exception page) log its stack on every evaluation, and a passing one
/// writes the app's per-request lines every cache period. HealthKit's own transition line (event 101, with the page,
/// its status and the exception's first line) is what says a page failed, once, when it starts failing.
/// </summary>
/// <remarks>
/// A filter of the logger factory, not a change of levels: every rule the app configured keeps its level, and gains a
/// test of one async-local flag that only a smoke render sets (for its own flow), so the app's requests log exactly
/// what they logged before. The filter is evaluated per message only above the rule's level, where the cost of one
/// async-local read is small next to writing the message. A logging framework that replaces the logger factory
/// (Serilog's <c>UseSerilog</c>) does not read these rules, and still sees the renders.
/// </remarks>
internal sealed class SmokeRenderLogs : IPostConfigureOptions<LoggerFilterOptions>
{
    private readonly AsyncLocal<bool> _rendering = new();

    /// <summary>Gets whether the current flow is a smoke render.</summary>
    public bool Rendering => _rendering.Value;

    /// <summary>
    /// Marks the current flow as a smoke render. Called at the start of the render's own async method, so the mark
    /// ends with it: an async method restores its caller's async-local values when it returns.
    /// </summary>
    public void BeginRender() => _rendering.Value = true;

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        var rules = options.Rules;
        var catchAll = false;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            catchAll |= rule.ProviderName is null && rule.CategoryName is null;
            rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, rule.LogLevel, Wrap(rule.Filter));
        }

        // A category no rule names gets the minimum level and no filter: a rule with exactly that level carries the
        // flag's test there too, and changes nothing else.
        if (!catchAll)
        {
            rules.Add(new LoggerFilterRule(null, null, options.MinLevel, Wrap(null)));
        }
    }

    private Func<string?, string?, LogLevel, bool> Wrap(Func<string?, string?, LogLevel, bool>? inner) =>
        inner is null
            ? (_, _, _) => !_rendering.Value
            : (provider, category, level) => !_rendering.Value && inner(provider, category, level);
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace HealthKit.Configuration;

/// <summary>
/// Binds the <c>DeployHealth</c> section like <c>BindConfiguration</c> does, except that a value the binder cannot
/// convert (<c>CacheDuration=banana</c>, <c>Agent:Port=abc</c>) is left out instead of throwing. The framework's
/// binder throws at the first such value from wherever the options are first read (a post-configure step inside
/// <c>Build()</c>), with one key and its own wording; left out here, every such value is reported by
/// <see cref="DeployHealthOptionsValidator"/> in the one start-up failure that lists every invalid option.
/// </summary>
internal sealed class DeployHealthBinding(IConfiguration configuration) : IConfigureOptions<DeployHealthOptions>
{
    public void Configure(DeployHealthOptions options)
    {
        var section = configuration.GetSection(DeployHealthOptions.SectionName);
        var unconvertible = FindUnconvertible(section);
        if (unconvertible.Count == 0)
        {
            section.Bind(options);
            return;
        }

        var kept = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null && !IsListed(unconvertible, section.Path + ConfigurationPath.KeyDelimiter + key))
            {
                kept[key] = value;
            }
        }

        new ConfigurationBuilder().AddInMemoryCollection(kept).Build().Bind(options);
    }

    /// <summary>
    /// Every value under <paramref name="section"/> that names a property of <see cref="DeployHealthOptions"/>
    /// (or of a per-check <see cref="DeployHealthCheckOptions"/>, or an element of a list) and that the configuration
    /// binder cannot convert to that property's type. Keys that name no property are ignored, as the binder ignores them.
    /// </summary>
    public static List<ConfigurationValue> FindUnconvertible(IConfigurationSection section)
    {
        var found = new List<ConfigurationValue>();
        WalkObject(section, typeof(DeployHealthOptions), found, onlyUnconvertible: true);
        return found;
    }

    /// <summary>Every scalar value under <paramref name="section"/> with the type it binds to, convertible or not.</summary>
    public static List<ConfigurationValue> FindValues(IConfigurationSection section)
    {
        var found = new List<ConfigurationValue>();
        WalkObject(section, typeof(DeployHealthOptions), found, onlyUnconvertible: false);
        return found;
    }

    private static bool IsListed(List<ConfigurationValue> values, string path)
    {
        foreach (var value in values)
        {
            if (string.Equals(value.Path, path, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static void WalkObject(IConfigurationSection section, Type type, List<ConfigurationValue> found, bool onlyUnconvertible)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is not null)
            {
                Walk(child, property.PropertyType, found, onlyUnconvertible);
            }
        }
    }

    private static void Walk(IConfigurationSection section, Type type, List<ConfigurationValue> found, bool onlyUnconvertible)
    {
        if (IsScalar(type))
        {
            if (section.Value is { } raw)
            {
                var convertible = CanConvert(raw, type);
                if (!onlyUnconvertible || !convertible)
                {
                    found.Add(new ConfigurationValue(section.Path, raw, Nullable.GetUnderlyingType(type) ?? type, convertible));
                }
            }

            return;
        }

        if (ElementType(type) is { } element)
        {
            foreach (var child in section.GetChildren())
            {
                Walk(child, element, found, onlyUnconvertible);
            }

            return;
        }

        if (type.IsClass)
        {
            WalkObject(section, type, found, onlyUnconvertible);
        }
    }

    /// <summary>A type the binder converts from one string: a string, an enum or another value type (a number, a time span).</summary>
    private static bool IsScalar(Type type) => type == typeof(string) || type.IsValueType;

    /// <summary>The value type of a dictionary with string keys, or the element type of a list.</summary>
    private static Type? ElementType(Type type)
    {
        foreach (var candidate in type.IsInterface ? [type, .. type.GetInterfaces()] : type.GetInterfaces())
        {
            if (!candidate.IsGenericType)
            {
                continue;
            }

            var definition = candidate.GetGenericTypeDefinition();
            if (definition == typeof(IDictionary<,>) && candidate.GetGenericArguments()[0] == typeof(string))
            {
                return candidate.GetGenericArguments()[1];
            }

            if (definition == typeof(IList<>) || definition == typeof(ICollection<>))
            {
                return candidate.GetGenericArguments()[0];
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the binder will convert <paramref name="raw"/> to <paramref name="type"/>: the same parse the generated
    /// binder runs for the types the options use (an empty value leaves a nullable unset). A type it does not list is
    /// left to the binder, which then names the key in its own failure.
    /// </summary>
    private static bool CanConvert(string raw, Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            if (raw.Length == 0)
            {
                return true;
            }

            type = underlying;
        }

        if (type == typeof(bool))
        {
            return bool.TryParse(raw, out _);
        }

        if (type == typeof(int))
        {
            return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
        }

        if (type == typeof(long))
        {
            return long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out _);
        }

        return !type.IsEnum || Enum.TryParse(type, raw, ignoreCase: true, out _);
    }
}

/// <summary>One configured value: its full key, the string as configured, the type it binds to, whether it converts.</summary>
internal sealed record ConfigurationValue(string Path, string Raw, Type Type, bool Convertible);

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Collections.Concurrent;

namespace HealthKit.Checks;

/// <summary>
/// One <see cref="MigrationCatalog{TContext}"/> per context type, for the life of the host. Nothing of EF Core in its
/// signatures, not even a generic constraint: registering the open generic <c>MigrationCatalog&lt;&gt;</c> in the
/// container, or a method constrained to <c>DbContext</c> here, made <c>AddDeployHealth()</c> load EF Core into
/// every app, EF Core or not.
/// </summary>
internal sealed class MigrationCatalogs
{
    private readonly ConcurrentDictionary<Type, object> _catalogs = new();

    /// <summary>Gets the catalog kept for <paramref name="contextType"/>, made by <paramref name="create"/> the first time.</summary>
    public object GetOrAdd(Type contextType, Func<object> create) => _catalogs.GetOrAdd(contextType, static (_, make) => make(), create);
}

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Creates <see cref="SqliteGrainStorage"/> instances for <c>AddGrainStorage</c>, one per provider name.
/// </summary>
public static class SqliteGrainStorageFactory
{
    /// <summary>
    /// Creates the storage named <paramref name="name"/> from its named <see cref="SqliteGrainStorageOptions"/>.
    /// </summary>
    public static SqliteGrainStorage Create(IServiceProvider services, string name) =>
        GrainStorageRegistration.Create<SqliteGrainStorageOptions, SqliteGrainStorage>(services, name);
}

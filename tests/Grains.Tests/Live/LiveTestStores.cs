using OrleansShards.Core;
using OrleansShards.Providers.LogStore;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>Opens and closes the real SQLite log store the live tests run on.</summary>
internal static class LiveTestStores
{
    public static ILogStore OpenSqlite(string file) => new SqliteLogStore(new SqliteLogStoreOptions { DataSource = file });

    public static ValueTask CloseAsync(ILogStore store)
    {
        (store as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }
}

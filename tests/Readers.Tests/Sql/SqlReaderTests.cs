using System.Buffers;
using System.Text;
using System.Text.Json;
using OrleansShards.Readers.Sql;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Readers.Tests.Sql;

public sealed class SqlReaderTests(PostgresServer server)
{
    public static TheoryData<string> Kinds => ["sqlite", "postgres"];

    private static List<string> Json(RecordBatch batch)
    {
        var records = new List<string>(batch.Count);
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < batch.Count; i++)
        {
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                batch.WriteRecord(writer, i);
            }

            records.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return records;
    }

    private static async Task<List<string>> Read(IPartitionReader reader, PartitionDescription description, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
    {
        using var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, start, end, columns, limit), TestContext.Current.CancellationToken);
        return Json(batch);
    }

    private static async Task<(SqlSourceAdapter Adapter, IPartitionReader Reader, PartitionDescription Description)> Describe(SqlTestDatabase db, string table, string key = "id", int stride = 64)
    {
        var adapter = db.Adapter(stride);
        var source = db.Source(table, key);
        var partitions = await adapter.ResolvePartitionsAsync(source, TestContext.Current.CancellationToken);
        var reader = adapter.ReaderFor(source);
        var description = await reader.DescribeAsync(Assert.Single(partitions), TestContext.Current.CancellationToken);
        return (adapter, reader, description);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Every_split_equals_the_full_ordered_scan(string kind)
    {
        await using var db = await SqlTestDatabase.CreateAsync(kind, server);
        const int rows = 5_000;
        // Inserted out of key order: the scan order is the key's, not the insertion's.
        await db.CreateItemsAsync("items", rows, kind == "sqlite" ? g => 3L * ((g * 7919) % rows) + 1 : null);
        var (adapter, reader, description) = await Describe(db, "items");
        await using var _ = adapter;

        Assert.Equal(rows, description.RecordCount);
        Assert.Equal(rows, description.Fingerprint.Length);
        Assert.Equal(["id", "name", "score", "flag", "payload", "note", "at"], description.Columns);
        var full = await Read(reader, description, 0, rows);
        Assert.Equal(rows, full.Count);
        var ids = full.Select(r => JsonDocument.Parse(r).RootElement.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(0, rows).Select(g => 3L * g + 1), ids);

        var random = new Random(7);
        foreach (var size in new[] { 1, 63, 64, 65, 333, 1000, 2048 })
        {
            var joined = new List<string>();
            for (long start = 0; start < rows; start += size)
            {
                joined.AddRange(await Read(reader, description, start, Math.Min(rows, start + size)));
            }

            Assert.Equal(full, joined);
        }

        for (var i = 0; i < 40; i++)
        {
            var start = random.Next(rows);
            var end = random.Next(start, rows + 1);
            Assert.Equal(full[start..end], await Read(reader, description, start, end));
        }

        Assert.Empty(await Read(reader, description, 100, 100));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Text_keys_split_in_the_database_order(string kind)
    {
        await using var db = await SqlTestDatabase.CreateAsync(kind, server);
        await db.ExecuteAsync("CREATE TABLE words (k varchar(40) PRIMARY KEY, v integer)");
        var random = new Random(3);
        var values = string.Join(", ", Enumerable.Range(0, 1500).Select(i => $"('w{random.Next():x8}-{i}', {i})"));
        await db.ExecuteAsync($"INSERT INTO words VALUES {values}");
        var (adapter, reader, description) = await Describe(db, "words", "k", stride: 50);
        await using var _ = adapter;

        var full = await Read(reader, description, 0, description.RecordCount);
        var joined = new List<string>();
        for (long start = 0; start < description.RecordCount; start += 77)
        {
            joined.AddRange(await Read(reader, description, start, Math.Min(description.RecordCount, start + 77)));
        }

        Assert.Equal(1500, full.Count);
        Assert.Equal(full, joined);
        var keys = full.Select(r => JsonDocument.Parse(r).RootElement.GetProperty("k").GetString()).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Projection_limit_and_typed_values(string kind)
    {
        await using var db = await SqlTestDatabase.CreateAsync(kind, server);
        await db.CreateItemsAsync("items", 300);
        var (adapter, reader, description) = await Describe(db, "items");
        await using var _ = adapter;

        Assert.Equal(["""{"name":"name 100","id":301}""", """{"name":"name 101","id":304}"""], await Read(reader, description, 100, 200, ["name", "id"], limit: 2));
        Assert.Equal(["""{"note":null}"""], await Read(reader, description, 0, 1, ["note"]));

        using (var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, 1, 2, ["ID", "payload"]), TestContext.Current.CancellationToken))
        {
            Assert.Equal(["ID", "payload"], batch.ColumnNames);
            Assert.Equal("4", batch.GetText(0, "ID"));
            Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("bytes 1")), batch.GetText(0, "payload"));
        }

        var one = JsonDocument.Parse((await Read(reader, description, 1, 2))[0]).RootElement;
        Assert.Equal(JsonValueKind.Number, one.GetProperty("id").ValueKind);
        Assert.Equal(0.5, one.GetProperty("score").GetDouble());
        Assert.Equal("note \"1\", é", one.GetProperty("note").GetString());
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse((await Read(reader, description, 0, 1))[0]).RootElement.GetProperty("payload").ValueKind);
        if (kind == "postgres")
        {
            Assert.Equal(JsonValueKind.False, one.GetProperty("flag").ValueKind);
            Assert.Equal("2024-01-01T00:00:01Z", one.GetProperty("at").GetString());
        }
        else
        {
            Assert.Equal(0, one.GetProperty("flag").GetInt32());
            Assert.StartsWith("2024-01-01T00:00:01", one.GetProperty("at").GetString(), StringComparison.Ordinal);
        }

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => Read(reader, description, 0, 10, ["id", "nope"]));
        Assert.Contains("'nope'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("items", unknown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_missing_table_or_key_column_or_a_key_that_is_not_unique_is_refused_with_the_place(string kind)
    {
        await using var db = await SqlTestDatabase.CreateAsync(kind, server);
        await db.CreateItemsAsync("items", 50);
        await db.ExecuteAsync("CREATE TABLE dupes (grp integer, v integer)");
        await db.ExecuteAsync("INSERT INTO dupes VALUES (1, 1), (2, 2), (2, 3), (3, 4)");
        await db.ExecuteAsync("CREATE TABLE holes (k integer, v integer)");
        await db.ExecuteAsync("INSERT INTO holes VALUES (1, 1), (NULL, 2)");
        await using var adapter = db.Adapter();
        var ct = TestContext.Current.CancellationToken;

        var table = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ResolvePartitionsAsync(db.Source("nothere"), ct).AsTask());
        Assert.Equal("source.table", table.Field);
        Assert.Contains("no table 'nothere'", table.Message, StringComparison.Ordinal);
        Assert.Contains(kind == "sqlite" ? "shop.db" : "'warehouse'", table.Message, StringComparison.Ordinal);

        var column = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ResolvePartitionsAsync(db.Source("items", "nokey"), ct).AsTask());
        Assert.Equal("source.keyColumn", column.Field);
        Assert.Contains("no column 'nokey'", column.Message, StringComparison.Ordinal);
        Assert.Contains("'items'", column.Message, StringComparison.Ordinal);

        var dupes = db.Source("dupes", "grp");
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(dupes, ct));
        var duplicate = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ReaderFor(dupes).DescribeAsync(locator, ct).AsTask());
        Assert.Equal("source.keyColumn", duplicate.Field);
        Assert.Contains("'grp' of table 'dupes'", duplicate.Message, StringComparison.Ordinal);
        Assert.Contains("not unique: the value 2 appears more than once", duplicate.Message, StringComparison.Ordinal);

        var holes = db.Source("holes", "k");
        var nullKey = await Assert.ThrowsAsync<SourceSpecException>(async () =>
            await adapter.ReaderFor(holes).DescribeAsync(Assert.Single(await adapter.ResolvePartitionsAsync(holes, ct)), ct));
        Assert.Contains("holds NULL", nullKey.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_table_changed_under_a_job_fails_the_read(string kind)
    {
        await using var db = await SqlTestDatabase.CreateAsync(kind, server);
        await db.CreateItemsAsync("items", 1_000);
        var (adapter, reader, description) = await Describe(db, "items");
        await using var _ = adapter;
        Assert.Equal(10, (await Read(reader, description, 500, 510)).Count);

        // A row inserted between two keys shifts every row after it.
        await db.ExecuteAsync("INSERT INTO items (id, name) VALUES (2, 'between 1 and 4')");
        var changed = await Assert.ThrowsAsync<SourceChangedException>(() => Read(reader, description, 500, 510));
        Assert.Contains("1001 rows, the job's snapshot 1000", changed.Message, StringComparison.Ordinal);

        // A reader that never saw the table (another process) finds it changed too.
        await using var other = db.Adapter();
        await Assert.ThrowsAsync<SourceChangedException>(() => Read(other.ReaderFor(db.Source("items")), description, 0, 10));

        // Same row count, other keys: a delete and an insert in the blocks read, found by the key hashes even when
        // the row count is not compared (recheck interval not due).
        await db.ExecuteAsync("DELETE FROM items WHERE id = 2");
        var (again, againReader, fresh) = await Describe(db, "items");
        await using var __ = again;
        await using var lazy = db.Adapter(recheck: TimeSpan.FromHours(1));
        var lazyReader = lazy.ReaderFor(db.Source("items"));
        Assert.Equal(10, (await Read(lazyReader, fresh, 0, 10)).Count);
        await db.ExecuteAsync("DELETE FROM items WHERE id = 7; INSERT INTO items (id, name) VALUES (8, 'moved')");
        var moved = await Assert.ThrowsAsync<SourceChangedException>(() => Read(lazyReader, fresh, 0, 10));
        Assert.Contains("other keys", moved.Message, StringComparison.Ordinal);
        Assert.Equal(10, (await Read(lazyReader, fresh, 500, 510)).Count);
        Assert.NotNull(againReader);
    }

    [Fact]
    public async Task A_sqlite_path_outside_the_data_roots_or_missing_is_refused()
    {
        await using var db = await SqlTestDatabase.CreateAsync("sqlite", server);
        await db.CreateItemsAsync("items", 10);
        await using var adapter = db.Adapter();
        var ct = TestContext.Current.CancellationToken;
        var outside = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ResolvePartitionsAsync(db.Source("items") with { Path = "../elsewhere.db" }, ct).AsTask());
        Assert.Equal("source.path", outside.Field);
        Assert.Contains("outside the data roots", outside.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ResolvePartitionsAsync(db.Source("items") with { Path = "nothere.db" }, ct).AsTask());
        Assert.Equal("source.path", missing.Field);
        Assert.False(File.Exists(Path.Combine(db.DataDir, "nothere.db")), "a read-only open must not create the file");

        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(db.Source("items"), ct));
        Assert.Equal("sqlite://shop.db/items#id", adapter.Display(locator));
    }

    [Fact]
    public async Task Postgres_connections_are_named_never_given_and_their_secrets_never_shown()
    {
        await using var db = await SqlTestDatabase.CreateAsync("postgres", server);
        await db.CreateItemsAsync("items", 10);
        var ct = TestContext.Current.CancellationToken;
        await using var adapter = db.Adapter();

        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(db.Source("items"), ct));
        Assert.Equal("postgres://warehouse/items#id", locator);
        Assert.DoesNotContain(server.Password, locator, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<SourceSpecException>(() => adapter.ResolvePartitionsAsync(db.Source("items") with { Connection = "Host=evil;Password=x" }, ct).AsTask());
        Assert.Equal("source.connection", unknown.Field);
        Assert.Contains("no connection 'Host=evil;Password=x' is defined", unknown.Message, StringComparison.Ordinal);

        // A wrong password: the error says so without the password; a password in the connection string is refused.
        var wrong = "wrong-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("SHARDS_TEST_PG_WRONG", wrong);
        var connections = db.Connections();
        connections.Connections["badpw"] = new SourceConnection { Kind = "postgres", ConnectionString = connections.Connections["warehouse"].ConnectionString, Secret = "env:SHARDS_TEST_PG_WRONG" };
        connections.Connections["literal"] = new SourceConnection { Kind = "postgres", ConnectionString = connections.Connections["warehouse"].ConnectionString + ";Password=" + wrong };
        connections.Connections["unset"] = new SourceConnection { Kind = "postgres", ConnectionString = connections.Connections["warehouse"].ConnectionString, Secret = "env:SHARDS_TEST_PG_NOT_SET_ANYWHERE" };
        await using var configured = new SqlSourceAdapter(new DataRoots(db.DataDir), connections);
        var bad = await Assert.ThrowsAsync<SourceSpecException>(() => configured.ResolvePartitionsAsync(db.Source("items") with { Connection = "badpw" }, ct).AsTask());
        Assert.Equal("source.connection", bad.Field);
        Assert.Contains("password authentication failed", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, bad.ToString(), StringComparison.Ordinal);
        var literal = await Assert.ThrowsAsync<SourceSpecException>(() => configured.ResolvePartitionsAsync(db.Source("items") with { Connection = "literal" }, ct).AsTask());
        Assert.Contains("holds a password in its connection string", literal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, literal.ToString(), StringComparison.Ordinal);
        var unset = await Assert.ThrowsAsync<SourceSpecException>(() => configured.ResolvePartitionsAsync(db.Source("items") with { Connection = "unset" }, ct).AsTask());
        Assert.Contains("SHARDS_TEST_PG_NOT_SET_ANYWHERE", unset.Message, StringComparison.Ordinal);

        var s3 = new SourceConnectionsOptions();
        s3.Connections["warehouse"] = new SourceConnection { Kind = "s3" };
        await using var mismatched = new SqlSourceAdapter(new DataRoots(db.DataDir), s3);
        var kind = await Assert.ThrowsAsync<SourceSpecException>(() => mismatched.ResolvePartitionsAsync(db.Source("items"), ct).AsTask());
        Assert.Contains("is a s3 connection, not postgres", kind.Message, StringComparison.Ordinal);
    }
}

using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Readers.Tests.Sql;

/// <summary>SQL batches as Arrow: typed from the declared column types, every value equal to the JSON answer.</summary>
public sealed class SqlArrowTests(PostgresServer server)
{
    private static async Task<RecordBatch> ReadAllAsync(SqlTestDatabase db, string table, IReadOnlyList<string>? columns = null)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var adapter = db.Adapter(16);
        var source = db.Source(table);
        var reader = adapter.ReaderFor(source);
        var description = await reader.DescribeAsync(Assert.Single(await adapter.ResolvePartitionsAsync(source, ct)), ct);
        return await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, 0, description.RecordCount, columns), ct);
    }

    private static int[] Rows(int n) => [.. Enumerable.Range(0, n), n - 1, 0, 5, 5, .. Enumerable.Range(0, n).Where(i => i % 4 == 1).Reverse()];

    [Fact]
    public async Task Postgres_columns_have_their_declared_types_and_the_json_values()
    {
        await using var db = await SqlTestDatabase.CreateAsync("postgres", server);
        await db.ExecuteAsync("""
            CREATE TABLE typed (id bigint PRIMARY KEY, i2 smallint, i4 integer, r4 real, r8 double precision, num numeric, amount numeric(12, 3),
              flag boolean, name text, code varchar(10), letter char(2), blob bytea, ts timestamp, tstz timestamptz, day date, doc jsonb, u uuid);
            INSERT INTO typed SELECT g,
              CASE WHEN g % 6 = 1 THEN NULL ELSE (g * 37 % 30000 - 15000)::smallint END,
              g * 100003 - 2000000000,
              CASE WHEN g % 9 = 4 THEN 'NaN'::real ELSE g / 3.0 END,
              CASE WHEN g % 11 = 2 THEN '-Infinity'::float8 WHEN g % 5 = 3 THEN NULL ELSE g * 1.1e300 / 100 END,
              CASE WHEN g % 7 = 6 THEN NULL ELSE (g::numeric * 12345678901234567.891) END,
              g * 1.125,
              CASE WHEN g % 4 = 0 THEN NULL ELSE g % 2 = 0 END,
              'näme "' || g || E'"\n',
              'c' || g,
              'x',
              CASE WHEN g % 3 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 6, '0') || 'ff00', 'hex') END,
              timestamp '2024-02-29 23:59:58.123456' + g * interval '1 hour',
              timestamptz '2024-01-01 00:00:00+00' + g * interval '1.5 second',
              date '1999-12-31' + g,
              CASE WHEN g % 2 = 0 THEN jsonb_build_object('g', g) ELSE to_jsonb(g) END,
              md5(g::text)::uuid
            FROM generate_series(0, 59) g;
            """);
        using var batch = await ReadAllAsync(db, "typed");
        var schema = await ArrowAssert.SameAsJsonAsync(batch, Rows(batch.Count));
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int64Type>(types["id"]);
        Assert.IsType<Int16Type>(types["i2"]);
        Assert.IsType<Int32Type>(types["i4"]);
        Assert.IsType<FloatType>(types["r4"]);
        Assert.IsType<DoubleType>(types["r8"]);
        Assert.IsType<StringType>(types["num"]);
        Assert.Equal("true", schema.GetFieldByName("num").Metadata[ArrowRecords.JsonTextKey]);
        Assert.IsType<StringType>(types["amount"]);
        Assert.IsType<BooleanType>(types["flag"]);
        Assert.IsType<StringType>(types["name"]);
        Assert.IsType<StringType>(types["code"]);
        Assert.IsType<StringType>(types["letter"]);
        Assert.IsType<BinaryType>(types["blob"]);
        var ts = Assert.IsType<TimestampType>(types["ts"]);
        Assert.Null(ts.Timezone);
        Assert.Equal(TimeUnit.Microsecond, ts.Unit);
        Assert.Equal("UTC", Assert.IsType<TimestampType>(types["tstz"]).Timezone);
        Assert.IsType<Date32Type>(types["day"]);
        Assert.IsType<StringType>(types["doc"]); // objects and numbers: typed from the values, as JSON text
        Assert.IsType<StringType>(types["u"]);

        // Spot checks independent of the JSON writer.
        var (_, arrow) = await ArrowAssert.RoundTripAsync(batch, [0, 1, 7]);
        using (arrow)
        {
            Assert.Equal(new DateOnly(2000, 1, 7), ((Date32Array)arrow.Column("day")).GetDateOnly(2));
            Assert.Equal(new DateTime(2024, 3, 1, 6, 59, 58, 123).AddTicks(4560), ((TimestampArray)arrow.Column("ts")).GetTimestamp(2)!.Value.DateTime);
            Assert.Equal(new byte[] { 0, 0, 7, 0xFF, 0 }, ((BinaryArray)arrow.Column("blob")).GetBytes(2).ToArray());
            Assert.True(arrow.Column("blob").IsNull(0));
            Assert.Equal("86419752308641975.237", ((StringArray)arrow.Column("num")).GetString(2));
        }

        using var projected = await ReadAllAsync(db, "typed", ["tstz", "id"]);
        var p = await ArrowAssert.SameAsJsonAsync(projected, [3, 2, 1]);
        Assert.Equal(["tstz", "id"], p.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public async Task Sqlite_columns_follow_type_affinity_and_fall_back_to_the_values_when_a_cell_disagrees()
    {
        await using var db = await SqlTestDatabase.CreateAsync("sqlite", server);
        await db.ExecuteAsync("""
            CREATE TABLE typed (id INTEGER PRIMARY KEY, n BIGINT, r DOUBLE, t TEXT, v VARCHAR(20), b BLOB, flag BOOLEAN, mixed INTEGER, at DATETIME);
            WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < 49)
            INSERT INTO typed SELECT x,
              CASE WHEN x % 6 = 1 THEN NULL ELSE x * 9007199254740 - 3 END,
              CASE WHEN x % 5 = 3 THEN NULL ELSE x / 7.0 END,
              'text ' || x || ' é',
              CASE WHEN x % 4 = 0 THEN NULL ELSE 'v' || x END,
              CASE WHEN x % 3 = 0 THEN NULL ELSE randomblob(x % 8 + 1) END,
              x % 2,
              CASE WHEN x = 17 THEN 'seventeen' ELSE x END,
              '2024-01-01 10:00:' || printf('%02d', x)
            FROM g;
            """);
        using var batch = await ReadAllAsync(db, "typed");
        var schema = await ArrowAssert.SameAsJsonAsync(batch, Rows(batch.Count));
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int64Type>(types["id"]);
        Assert.IsType<Int64Type>(types["n"]);
        Assert.IsType<DoubleType>(types["r"]);
        Assert.IsType<StringType>(types["t"]);
        Assert.IsType<StringType>(types["v"]);
        Assert.IsType<BinaryType>(types["b"]);
        Assert.IsType<Int64Type>(types["flag"]); // NUMERIC affinity: typed from its values (0 and 1)
        Assert.IsType<StringType>(types["mixed"]); // one text cell in an INTEGER column: typed from the values
        Assert.Equal("true", schema.GetFieldByName("mixed").Metadata[ArrowRecords.JsonTextKey]);
        Assert.IsType<StringType>(types["at"]);

        // Without the text cell the INTEGER column is int64 again: types are decided per batch of rows.
        var narrow = await ArrowAssert.SameAsJsonAsync(batch, [1, 2, 3, 18]);
        Assert.IsType<Int64Type>(narrow.GetFieldByName("mixed").DataType);
    }
}

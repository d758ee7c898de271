using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using OrleansShards.Readers.Tests;

namespace OrleansShards.Silo.Tests;

/// <summary>GET .../records?format=arrow read back with ArrowStreamReader and compared value by value with the JSON answer.</summary>
public sealed class ArrowHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private async Task CreateJob(string id, string source, int shardSize, bool shuffle = false)
    {
        using var response = await Http.PostAsync("v1/jobs", new StringContent(
            $$"""{"id":"{{id}}","source":{{source}},"shardSize":{{shardSize}},"shuffle":{{(shuffle ? "true" : "false")}},"seed":11}""",
            Encoding.UTF8,
            "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private sealed record ArrowAnswer(Schema Schema, Apache.Arrow.RecordBatch Batch, string? NextOffsetHeader) : IDisposable
    {
        public void Dispose() => Batch.Dispose();
    }

    private async Task<ArrowAnswer> GetArrow(string path)
    {
        using var response = await Http.GetAsync(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "format=arrow");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ArrowRecords.MediaType, response.Content.Headers.ContentType?.MediaType);
        var header = response.Headers.TryGetValues("X-Next-Offset", out var values) ? values.Single() : null;
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var reader = new ArrowStreamReader(new MemoryStream(bytes));
        var batch = await reader.ReadNextRecordBatchAsync();
        Assert.NotNull(batch);
        Assert.Null(await reader.ReadNextRecordBatchAsync()); // one batch a page
        return new ArrowAnswer(reader.Schema, batch, header);
    }

    private async Task<JsonElement> GetJson(string path) => await Http.GetFromJsonAsync<JsonElement>(path);

    /// <summary>Every value of the Arrow answer equals the JSON answer's; returns the number of records compared.</summary>
    private static int AssertSame(JsonElement json, ArrowAnswer arrow, IReadOnlyList<string>? expectedColumns = null)
    {
        var records = json.GetProperty("records");
        Assert.Equal(records.GetArrayLength(), arrow.Batch.Length);
        var next = json.TryGetProperty("nextOffset", out var n) ? n.GetInt64().ToString(CultureInfo.InvariantCulture) : null;
        Assert.Equal(next, arrow.NextOffsetHeader);
        Assert.Equal(next, arrow.Schema.Metadata?.GetValueOrDefault(ArrowRecords.NextOffsetKey));

        var names = arrow.Schema.FieldsList.Select(f => f.Name).ToList();
        if (expectedColumns is not null)
        {
            Assert.Equal(expectedColumns, names);
        }

        // Every property of every JSON record is a column.
        var seen = records.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Distinct().ToList();
        Assert.All(seen, name => Assert.Contains(name, names));

        var row = 0;
        foreach (var record in records.EnumerateArray())
        {
            for (var c = 0; c < names.Count; c++)
            {
                var field = arrow.Schema.FieldsList[c];
                var column = arrow.Batch.Column(c);
                var present = record.TryGetProperty(field.Name, out var value) && value.ValueKind != JsonValueKind.Null;
                Assert.True(present != column.IsNull(row), $"row {row} column {field.Name}: JSON {(present ? value.GetRawText() : "null")}, Arrow null={column.IsNull(row)}");
                if (!present)
                {
                    continue;
                }

                switch (field.DataType.TypeId)
                {
                    case ArrowTypeId.Int64:
                        Assert.Equal(value.GetInt64(), ((Int64Array)column).GetValue(row));
                        break;
                    case ArrowTypeId.Double:
                        Assert.Equal(value.GetDouble(), ((DoubleArray)column).GetValue(row));
                        break;
                    case ArrowTypeId.Boolean:
                        Assert.Equal(value.GetBoolean(), ((BooleanArray)column).GetValue(row));
                        break;
                    case ArrowTypeId.String:
                        var text = ((StringArray)column).GetString(row);
                        if (value.ValueKind == JsonValueKind.String)
                        {
                            Assert.Equal(value.GetString(), text);
                        }
                        else
                        {
                            Assert.Equal("true", field.Metadata?.GetValueOrDefault(ArrowRecords.JsonTextKey));
                            Assert.Equal(value.GetRawText(), text);
                        }

                        break;
                    default:
                        Assert.Fail($"unexpected Arrow type {field.DataType.Name} of column {field.Name}");
                        break;
                }
            }

            row++;
        }

        return row;
    }

    [Fact]
    public async Task Csv_arrow_pages_equal_json_pages_with_projection_and_paging()
    {
        await CreateJob("arrow-csv", """{"kind":"csv","paths":["small.csv"]}""", 1000);
        const string task = "v1/jobs/arrow-csv/tasks/e0.p0.1000-2000/records";

        using (var whole = await GetArrow(task))
        {
            Assert.Equal(1000, AssertSame(await GetJson(task), whole, ["id", "name", "comment"]));
            Assert.All(whole.Schema.FieldsList, f => Assert.Equal(ArrowTypeId.String, f.DataType.TypeId));
            Assert.Equal("1001", ((StringArray)whole.Batch.Column("id")).GetString(1));
            Assert.Equal("multi\nline, \"quoted\"", ((StringArray)whole.Batch.Column("comment")).GetString(1));
        }

        using (var projected = await GetArrow(task + "?columns=comment,id"))
        {
            AssertSame(await GetJson(task + "?columns=comment,id"), projected, ["comment", "id"]);
        }

        // Paging: pages with nextOffset until the shard ends; together they are the whole shard.
        long? offset = 0;
        var pages = 0;
        var ids = new List<string>();
        while (offset is { } from)
        {
            var path = $"{task}?offset={from}&limit=300&columns=id";
            using var page = await GetArrow(path);
            AssertSame(await GetJson(path), page, ["id"]);
            var column = (StringArray)page.Batch.Column(0);
            ids.AddRange(Enumerable.Range(0, page.Batch.Length).Select(i => column.GetString(i)));
            offset = page.NextOffsetHeader is { } next ? long.Parse(next, CultureInfo.InvariantCulture) : null;
            pages++;
        }

        Assert.Equal(4, pages);
        Assert.Equal(Enumerable.Range(1000, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)), ids);

        // The end of a shard: an empty page that still has its columns.
        using var empty = await GetArrow(task + "?offset=1000");
        Assert.Equal(0, AssertSame(await GetJson(task + "?offset=1000"), empty, ["id", "name", "comment"]));
    }

    [Fact]
    public async Task Shuffled_arrow_pages_are_the_same_window_of_the_seeded_order_as_json()
    {
        await CreateJob("arrow-shuffled", """{"kind":"csv","paths":["small.csv"]}""", 1000, shuffle: true);
        foreach (var path in new[] { "v1/jobs/arrow-shuffled/tasks/e0.p0.2000-2500/records", "v1/jobs/arrow-shuffled/tasks/e0.p0.0-1000/records?offset=250&limit=400" })
        {
            using var arrow = await GetArrow(path);
            AssertSame(await GetJson(path), arrow);
        }
    }

    [Fact]
    public async Task Json_lines_arrow_columns_are_typed_from_the_values()
    {
        var lines = new List<string>();
        for (var i = 0; i < 1200; i++)
        {
            var optional = i % 7 == 0 ? "" : $",\"opt\":{i * 10}";
            var mixed = (i % 3) switch
            {
                0 => "\"text\"",
                1 => i.ToString(CultureInfo.InvariantCulture),
                _ => "{\"nested\":[1,2,{\"x\":null}]}",
            };
            var score = i % 5 == 0 ? "null" : (i / 4.0).ToString("R", CultureInfo.InvariantCulture);
            lines.Add($$"""{"id":{{i}},"name":"n\u00e9 {{i}} \"q\"\ttab","score":{{score}},"ok":{{(i % 2 == 0 ? "true" : "false")}},"big":{{(i == 5 ? "123456789012345678901234567890" : i.ToString(CultureInfo.InvariantCulture))}},"mixed":{{mixed}},"tags":["a","b{{i}}"]{{optional}}}""");
        }

        lines.Insert(600, "   ");
        await File.WriteAllTextAsync(Path.Combine(server.DataDir, "typed.jsonl"), string.Join('\n', lines) + "\n");
        await CreateJob("arrow-jsonl", """{"kind":"jsonl","paths":["typed.jsonl"]}""", 500);

        const string task = "v1/jobs/arrow-jsonl/tasks/e0.p0.0-500/records";
        using (var whole = await GetArrow(task))
        {
            Assert.Equal(500, AssertSame(await GetJson(task), whole, ["id", "name", "score", "ok", "big", "mixed", "tags", "opt"]));
            var types = whole.Schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType.TypeId);
            Assert.Equal(ArrowTypeId.Int64, types["id"]);
            Assert.Equal(ArrowTypeId.String, types["name"]);
            Assert.Equal(ArrowTypeId.Double, types["score"]);
            Assert.Equal(ArrowTypeId.Boolean, types["ok"]);
            Assert.Equal(ArrowTypeId.Double, types["big"]); // an integer beyond int64 makes the column float64
            Assert.Equal(ArrowTypeId.String, types["mixed"]);
            Assert.Equal(ArrowTypeId.String, types["tags"]);
            Assert.Equal(ArrowTypeId.Int64, types["opt"]);
            Assert.True(whole.Batch.Column("opt").IsNull(0));
            Assert.Equal("né 3 \"q\"\ttab", ((StringArray)whole.Batch.Column("name")).GetString(3));
        }

        // A page of the second shard: paging, and a projection with a column no record has.
        const string second = "v1/jobs/arrow-jsonl/tasks/e0.p0.500-1000/records";
        using (var page = await GetArrow(second + "?offset=90&limit=120"))
        {
            AssertSame(await GetJson(second + "?offset=90&limit=120"), page);
            Assert.Equal("210", page.NextOffsetHeader);
        }

        using (var projected = await GetArrow(second + "?columns=mixed,id,absent&limit=50"))
        {
            AssertSame(await GetJson(second + "?columns=mixed,id,absent&limit=50"), projected, ["mixed", "id", "absent"]);
            Assert.Equal(50, projected.Batch.Column("absent").NullCount);
        }
    }

    [Fact]
    public async Task Tfrecord_and_sqlite_arrow_columns_are_typed_from_the_source_schema()
    {
        // TFRecord: examples with scalar, list and non-UTF-8 bytes features, and raw records; shuffled, so the page
        // holds rows of the batch in another order.
        TfRecordTestFiles.Write(Path.Combine(server.DataDir, "typed.tfrecord"), 300);
        await CreateJob("arrow-tfrecord", """{"kind":"tfrecord","paths":["typed.tfrecord"]}""", 300, shuffle: true);
        const string tf = "v1/jobs/arrow-tfrecord/tasks/e0.p0.0-300/records?offset=20&limit=150";
        using (var page = await GetArrow(tf))
        {
            var json = await GetJson(tf);
            ArrowAssert.SameValues(
                [.. json.GetProperty("records").EnumerateArray()],
                page.Schema,
                page.Batch,
                (field, bytes) => field.Name != "bytes" && System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes),
                bareSingleValues: true);
            var types = page.Schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
            Assert.IsType<Int64Type>(types["id"]);
            Assert.IsType<FloatType>(types["score"]);
            Assert.IsType<Int64Type>(Assert.IsType<ListType>(types["vec"]).ValueDataType);
            Assert.IsType<BinaryType>(types["blob"]);
            Assert.IsType<BinaryType>(types["bytes"]);
            Assert.Equal("170", page.NextOffsetHeader);
        }

        // SQLite: declared types.
        var db = Path.Combine(server.DataDir, "typed.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE t (id INTEGER PRIMARY KEY, r REAL, s TEXT, b BLOB);
                WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 40)
                INSERT INTO t SELECT x, x / 8.0, 'row ' || x, CASE WHEN x % 3 = 0 THEN NULL ELSE zeroblob(x % 5) END FROM g;
                """;
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await CreateJob("arrow-sqlite", """{"kind":"sqlite","path":"typed.db","table":"t","keyColumn":"id"}""", 40);
        const string sql = "v1/jobs/arrow-sqlite/tasks/e0.p0.0-40/records";
        using (var page = await GetArrow(sql))
        {
            ArrowAssert.SameValues([.. (await GetJson(sql)).GetProperty("records").EnumerateArray()], page.Schema, page.Batch);
            Assert.Equal(["id", "r", "s", "b"], page.Schema.FieldsList.Select(f => f.Name));
            Assert.Equal([ArrowTypeId.Int64, ArrowTypeId.Double, ArrowTypeId.String, ArrowTypeId.Binary], page.Schema.FieldsList.Select(f => f.DataType.TypeId));
        }
    }

    [Fact]
    public async Task Unknown_formats_are_refused_and_json_stays_the_default()
    {
        await CreateJob("arrow-formats", """{"kind":"csv","paths":["small.csv"]}""", 1000);
        using var bad = await Http.GetAsync("v1/jobs/arrow-formats/tasks/e0.p0.0-1000/records?format=parquet");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("arrow", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var plain = await Http.GetAsync("v1/jobs/arrow-formats/tasks/e0.p0.0-1000/records?limit=3");
        Assert.Equal("application/json", plain.Content.Headers.ContentType?.MediaType);
        Assert.False(plain.Headers.Contains("X-Next-Offset"));
    }

    [Fact]
    public async Task Csv_with_declared_column_types_serves_numbers_and_booleans_in_json_and_typed_arrow_columns()
    {
        server.File("data/typed.csv", "id,score,ok,label\n1,0.5,true,a\n2,-3e2,FALSE,b\n3,,true,\n");
        await CreateJob("typed-csv", """{"kind":"csv","paths":["typed.csv"],"columns":{"ok":"bool","id":"int64","score":"float64"}}""", 100);
        const string task = "v1/jobs/typed-csv/tasks/e0.p0.0-3/records";

        var json = await GetJson(task);
        var records = json.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal("""{"id":1,"score":0.5,"ok":true,"label":"a"}""", records[0].GetRawText());
        Assert.Equal("""{"id":2,"score":-300,"ok":false,"label":"b"}""", records[1].GetRawText());
        // An empty typed value is null; an empty text value stays "".
        Assert.Equal("""{"id":3,"score":null,"ok":true,"label":""}""", records[2].GetRawText());

        using var arrow = await GetArrow(task);
        Assert.Equal(
            [ArrowTypeId.Int64, ArrowTypeId.Double, ArrowTypeId.Boolean, ArrowTypeId.String],
            arrow.Schema.FieldsList.Select(f => f.DataType.TypeId));
        Assert.Equal([1L, 2L, 3L], ((Int64Array)arrow.Batch.Column("id")).Values.ToArray());
        Assert.Equal([0.5, -300.0, null], ((DoubleArray)arrow.Batch.Column("score")).ToArray());
        Assert.Equal([true, false, true], ((BooleanArray)arrow.Batch.Column("ok")).ToArray());
    }

    [Fact]
    public async Task A_value_that_does_not_parse_as_its_column_type_names_the_file_record_and_column()
    {
        server.File("data/typed-bad.csv", "id,score\n1,2.5\n2,lots\n");
        await CreateJob("typed-bad", """{"kind":"csv","paths":["typed-bad.csv"],"columns":{"score":"float64"}}""", 100);

        using var response = await Http.GetAsync("v1/jobs/typed-bad/tasks/e0.p0.0-2/records");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.Contains("typed-bad.csv: record 1", detail, StringComparison.Ordinal);
        Assert.Contains("column 'score': 'lots' is not a float64", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kind":"csv","paths":["small.csv"],"columns":{"id":"float"}}""", "source.columns.id", "'float' is not a column type")]
    [InlineData("""{"kind":"jsonl","paths":["small.csv"],"columns":{"id":"int64"}}""", "source.columns", "column types are for csv sources")]
    [InlineData("""{"kind":"csv","path":"small.csv"}""", "source.path", "did you mean 'paths'")]
    [InlineData("""{"kind":"csv"}""", "source.paths", "needs at least one path")]
    [InlineData("""{"kind":"csv","paths":["small.csv"],"path":"small.csv"}""", "source.path", "did you mean 'paths'")]
    public async Task Column_types_and_fields_foreign_to_a_file_source_are_refused_with_the_field(string source, string field, string reason)
    {
        using var response = await Http.PostAsync("v1/jobs", new StringContent($$"""{"id":"typed-refused","source":{{source}}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(reason, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

using OrleansShards.Core.Sources;

namespace OrleansShards.Core.Tests;

public class SourceKindTests
{
    private static JobSpec Spec(SourceSpec source) => new() { Source = source };

    [Theory]
    [InlineData("csv", "source.paths")]
    [InlineData("JSONL", "source.paths")]
    [InlineData("tfrecord", "source.paths")]
    [InlineData("parquet", "source.paths")]
    [InlineData("sqlite", "source.path")]
    [InlineData("postgres", "source.connection")]
    [InlineData("s3", "source.connection")]
    [InlineData("azureblob", "source.connection")]
    [InlineData("topic", "source.topic")]
    [InlineData("redisstreams", "source.connection")]
    public void Each_kind_names_its_first_missing_field(string kind, string field) =>
        Assert.Equal(field, Spec(new SourceSpec { Kind = kind }).Validate()?.Field);

    [Fact]
    public void Kinds_check_their_own_fields_in_their_own_order()
    {
        Assert.Equal("source.bucket", Spec(new SourceSpec { Kind = "s3", Connection = "c" }).Validate()?.Field);
        Assert.Equal("source.container", Spec(new SourceSpec { Kind = "azureblob", Connection = "c" }).Validate()?.Field);
        Assert.Equal("source.transformer", Spec(new SourceSpec { Kind = "s3", Connection = "c", Bucket = "b", Transformer = "xml" }).Validate()?.Field);
        Assert.Equal("source.table", Spec(new SourceSpec { Kind = "postgres", Connection = "c", Table = "a.b.c", KeyColumn = "id" }).Validate()?.Field);
        Assert.Equal("source.keyColumn", Spec(new SourceSpec { Kind = "sqlite", Path = "a.db", Table = "t", KeyColumn = "1x" }).Validate()?.Field);
        Assert.Equal("source.delimiter", Spec(new SourceSpec { Kind = "csv", Paths = ["a.csv"], Delimiter = ";;" }).Validate()?.Field);
        Assert.Equal("source.keys", Spec(new SourceSpec { Kind = "redisstreams", Connection = "c", Keys = ["a", "a"] }).Validate()?.Field);
        Assert.Null(Spec(new SourceSpec { Kind = "sqlite", Path = "a.db", Table = "main.t", KeyColumn = "id" }).Validate());
    }

    [Fact]
    public void Watch_belongs_to_the_kinds_that_watch_and_makes_them_live()
    {
        var problem = Spec(new SourceSpec { Kind = "csv", Paths = ["a.csv"], Watch = false }).Validate();
        Assert.Equal(("source.watch", "applies only to object kinds (s3, azureblob)"), problem);
        var watched = new SourceSpec { Kind = "s3", Connection = "c", Bucket = "b", Transformer = "raw", Partitions = 2, Watch = true };
        Assert.True(Spec(watched).IsLive);
        Assert.False(Spec(watched with { Watch = false }).IsLive);
        Assert.True(Spec(new SourceSpec { Kind = "Topic", Topic = "t" }).IsLive);
        Assert.False(Spec(new SourceSpec { Kind = "csv", Paths = ["a.csv"] }).IsLive);
    }

    [Fact]
    public void Unknown_kinds_are_refused_listing_every_kind_and_case_folds_as_before()
    {
        Assert.Equal(
            ("source.kind", "'xml' is not a source kind this server reads: one of csv, jsonl, tfrecord, parquet, sqlite, postgres, s3, azureblob, topic, redisstreams"),
            Spec(new SourceSpec { Kind = "xml" }).Validate());
        // Lower-cased invariantly, not compared ignoring case: a long s (U+017F) upper-cases to S but is no 's'.
        Assert.Null(SourceKinds.Find("\u017F3"));
        Assert.Same(ObjectSourceKind.S3, SourceKinds.Find("S3"));
    }

    [Fact]
    public void Csv_fills_its_defaults_and_reads_as_its_typed_spec()
    {
        var normalized = Spec(new SourceSpec { Kind = "CSV", Paths = ["a.csv"] }).Normalize().Source!;
        Assert.Equal(("csv", (bool?)true, ","), (normalized.Kind, normalized.Header, normalized.Delimiter));
        Assert.Null(Spec(new SourceSpec { Kind = "jsonl", Paths = ["a.jsonl"] }).Normalize().Source!.Header);
        var read = SourceKinds.Read<FileSourceSpec>(new SourceSpec { Kind = "csv", Paths = ["a.csv"], Header = false, Delimiter = "\t" });
        Assert.Equal((false, '\t'), (read.Header, read.Delimiter));
        var sql = SourceKinds.Read<SqlSourceSpec>(new SourceSpec { Kind = "postgres", Connection = "db", Table = "s.t", KeyColumn = "id" });
        Assert.Equal(new SqlSourceSpec(null, "db", "s.t", "id"), sql);
        Assert.Throws<ArgumentException>(() => SourceKinds.Read<SqlSourceSpec>(new SourceSpec { Kind = "csv", Paths = ["a.csv"] }));
    }
}

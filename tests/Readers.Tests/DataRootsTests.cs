namespace OrleansShards.Readers.Tests;

public sealed class DataRootsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _data;
    private readonly string _outside;

    public DataRootsTests()
    {
        _data = Path.Combine(_dir.Path, "data");
        _outside = Path.Combine(_dir.Path, "outside");
        Directory.CreateDirectory(Path.Combine(_data, "train", "deep"));
        Directory.CreateDirectory(_outside);
        foreach (var f in new[] { "b.csv", "a.csv", "notes.txt", "train/x.jsonl", "train/deep/y.jsonl", "train/z.csv" })
        {
            File.WriteAllText(Path.Combine(_data, f), "a\n1\n");
        }

        File.WriteAllText(Path.Combine(_data, "a.csv.osidx"), "index");
        File.WriteAllText(Path.Combine(_outside, "secret.csv"), "a\n1\n");
    }

    public void Dispose() => _dir.Dispose();

    private string D(string relative) => Path.Combine(_data, relative);

    [Fact]
    public void Relative_paths_and_globs_resolve_sorted_and_deduplicated()
    {
        var roots = new DataRoots(_data);
        Assert.Equal([D("a.csv")], roots.ResolveFiles(["a.csv"]));
        Assert.Equal([D("a.csv"), D("b.csv")], roots.ResolveFiles(["*.csv", "b.csv", "./a.csv"]));
        Assert.Equal([D("train/deep/y.jsonl"), D("train/x.jsonl")], roots.ResolveFiles(["**/*.jsonl"]));
        Assert.Equal([D("train/deep/y.jsonl"), D("train/x.jsonl"), D("train/z.csv")], roots.ResolveFiles(["train/**"]));
        Assert.Equal([D("a.csv"), D("b.csv"), D("train/z.csv")], roots.ResolveFiles(["**/?.csv"]));
        Assert.Equal([D("a.csv")], roots.ResolveFiles([D("a.csv")]));
        Assert.Equal([D("a.csv")], roots.ResolveFiles(["train/../a.csv"]));
    }

    [Fact]
    public void Dot_dot_escape_is_refused()
    {
        var roots = new DataRoots(_data);
        var e = Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["../outside/secret.csv"]));
        Assert.Contains("../outside/secret.csv", e.Message);
        Assert.Contains(_data, e.Message);
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["../**/*.csv"]));
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["train/../../outside/*.csv"]));
        Assert.IsAssignableFrom<ArgumentException>(e);
    }

    [Fact]
    public void Absolute_path_outside_is_refused_unless_it_is_an_extra_root()
    {
        var secret = Path.Combine(_outside, "secret.csv");
        var e = Assert.Throws<PathOutsideRootsException>(() => new DataRoots(_data).ResolveFiles([secret]));
        Assert.Contains(secret, e.Message);
        Assert.Throws<PathOutsideRootsException>(() => new DataRoots(_data).ResolveFiles(["/etc/passwd"]));
        Assert.Equal([secret], new DataRoots(_data, [_outside]).ResolveFiles([secret]));

        // A sibling whose name starts with the root's name is not under it.
        Directory.CreateDirectory(_data + "2");
        File.WriteAllText(Path.Combine(_data + "2", "s.csv"), "a\n");
        Assert.Throws<PathOutsideRootsException>(() => new DataRoots(_data).ResolveFiles([Path.Combine(_data + "2", "s.csv")]));
    }

    [Fact]
    public void Symlink_escape_is_refused()
    {
        File.CreateSymbolicLink(D("link.csv"), Path.Combine(_outside, "secret.csv"));
        Directory.CreateSymbolicLink(D("linkdir"), _outside);
        var roots = new DataRoots(_data);
        var e = Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["link.csv"]));
        Assert.Contains("secret.csv", e.Message);
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["*.csv"]));
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["linkdir/secret.csv"]));
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["linkdir/*.csv"]));
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFile("linkdir/secret.csv"));

        // A link that stays inside is fine.
        File.CreateSymbolicLink(D("inside.csv"), D("a.csv"));
        Assert.Equal([D("inside.csv")], roots.ResolveFiles(["inside.csv"]));
    }

    [Fact]
    public void Pattern_without_match_names_the_pattern()
    {
        var roots = new DataRoots(_data);
        var e = Assert.Throws<FileNotFoundException>(() => roots.ResolveFiles(["nothing/*.parquet"]));
        Assert.Contains("nothing/*.parquet", e.Message);
        e = Assert.Throws<FileNotFoundException>(() => roots.ResolveFiles(["missing.csv"]));
        Assert.Contains("missing.csv", e.Message);
        Assert.Throws<FileNotFoundException>(() => roots.ResolveFiles(["*.osidx"]));
    }
}

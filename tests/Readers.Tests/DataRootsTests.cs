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
        // A wildcard never lists a directory outside the roots, even one where nothing would match.
        Assert.Throws<PathOutsideRootsException>(() => roots.ResolveFiles(["*/nothing-here.parquet"]));

        // A link that stays inside is fine, and the real path is what a job pins.
        File.CreateSymbolicLink(D("inside.csv"), D("a.csv"));
        Assert.Equal([D("a.csv")], roots.ResolveFiles(["inside.csv"]));
        Assert.Equal(D("a.csv"), roots.ResolveFile("inside.csv"));
    }

    [Fact]
    public void A_pinned_path_swapped_for_a_link_out_of_the_roots_is_refused_at_open()
    {
        var roots = new DataRoots(_data);
        var pinned = roots.ResolveFiles(["a.csv"]).Single();
        roots.CheckReadable(pinned);

        // The same length and modification time: only the path check can tell.
        var secret = Path.Combine(_outside, "secret.csv");
        File.SetLastWriteTimeUtc(secret, File.GetLastWriteTimeUtc(pinned));
        File.Delete(pinned);
        File.CreateSymbolicLink(pinned, secret);
        var e = Assert.Throws<PathOutsideRootsException>(() => roots.CheckReadable(pinned));
        Assert.Contains(secret, e.Message);

        // A parent directory swapped for a link out of the roots too.
        var deep = roots.ResolveFiles(["train/z.csv"]).Single();
        Directory.Move(D("train"), D("train-old"));
        Directory.CreateSymbolicLink(D("train"), _outside);
        File.WriteAllText(Path.Combine(_outside, "z.csv"), "a\n1\n");
        Assert.Throws<PathOutsideRootsException>(() => roots.CheckReadable(deep));
    }

    [Fact]
    public void Nul_in_a_path_or_pattern_is_refused_as_bad_input()
    {
        var roots = new DataRoots(_data);
        var e = Assert.Throws<SourcePathException>(() => roots.ResolveFiles(["a\0.csv"]));
        Assert.Contains("NUL", e.Message);
        Assert.Contains("\\u0000", e.Message);
        Assert.Throws<SourcePathException>(() => roots.ResolveFiles(["**/\0*"]));
        Assert.Throws<SourcePathException>(() => roots.ResolveFile("db\0.sqlite"));
        Assert.Throws<SourcePathException>(() => roots.CheckReadable(D("a.csv") + "\0"));
    }

    [Fact]
    public void The_state_directory_is_never_a_source()
    {
        Directory.CreateDirectory(D("state"));
        File.WriteAllText(D("state/shards.db"), "x");
        File.WriteAllText(D("state/log.db-wal"), "x");
        var log = Path.Combine(_data, "elsewhere-log.db");
        File.WriteAllText(log, "x");
        File.WriteAllText(log + "-wal", "x");
        var roots = new DataRoots(_data, excluded: [log]);
        Assert.Throws<SourcePathException>(() => roots.ResolveFiles(["state/shards.db"]));
        Assert.Throws<SourcePathException>(() => roots.ResolveFile("state/shards.db"));
        Assert.Throws<SourcePathException>(() => roots.ResolveFile("elsewhere-log.db-wal"));
        Assert.Throws<SourcePathException>(() => roots.CheckReadable(D("state/log.db-wal")));
        Assert.Throws<SourcePathException>(() => roots.CheckReadable(log));

        // A glob walks past them rather than refusing the whole pattern.
        Assert.DoesNotContain(roots.ResolveFiles(["**"]), p => p.Contains("state", StringComparison.Ordinal) || p.Contains("log.db", StringComparison.Ordinal));
        File.CreateSymbolicLink(D("innocent.db"), D("state/shards.db"));
        Assert.Throws<SourcePathException>(() => roots.ResolveFiles(["innocent.db"]));
    }

    [Fact]
    public void A_hostile_glob_walks_once_and_stops_at_its_bounds()
    {
        // 12 levels, 3 directories a level for the first 6: 5,466 directories. A walk per "**" (the old way) looked
        // at each of them once per way of splitting its depth among 12 "**": millions of listings.
        var top = D("tree");
        var level = new List<string> { top };
        for (var depth = 0; depth < 12; depth++)
        {
            level = [.. level.SelectMany(d => Enumerable.Range(0, depth < 6 ? 3 : 1).Select(i => Path.Combine(d, $"d{i}")))];
            level.ForEach(d => Directory.CreateDirectory(d));
        }

        File.WriteAllText(Path.Combine(level[0], "leaf.csv"), "a\n1\n");
        var hostile = "tree/" + string.Join("/", Enumerable.Repeat("**", 12)) + "/*.csv";
        var once = new DataRoots(_data, limits: new ReadLimits { GlobMaxEntries = 5_467 });
        Assert.Single(once.ResolveFiles([hostile])); // every entry looked at once: the bound is the tree's size
        Assert.Throws<SourcePathException>(() => new DataRoots(_data, limits: new ReadLimits { GlobMaxEntries = 5_466 }).ResolveFiles([hostile]));
        var roots = new DataRoots(_data);

        var few = new DataRoots(_data, limits: new ReadLimits { GlobMaxEntries = 100 });
        var e = Assert.Throws<SourcePathException>(() => few.ResolveFiles(["tree/**/*.csv"]));
        Assert.Contains("100 directory entries", e.Message);
        Assert.Contains("tree/**/*.csv", e.Message);

        var shallow = new DataRoots(_data, limits: new ReadLimits { GlobMaxDepth = 4 });
        e = Assert.Throws<SourcePathException>(() => shallow.ResolveFiles(["tree/**/*.csv"]));
        Assert.Contains("more than 4 directories", e.Message);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => roots.ResolveFiles(["tree/**/*.csv"], cancelled.Token));
        var quick = new DataRoots(_data, limits: new ReadLimits { GlobTimeout = TimeSpan.Zero });
        e = Assert.Throws<SourcePathException>(() => quick.ResolveFiles(["tree/**/*.csv"]));
        Assert.Contains("GlobTimeout", e.Message);
    }

    [Fact]
    public void Symlink_loops_under_a_glob_are_refused_or_skipped_never_followed_forever()
    {
        Directory.CreateSymbolicLink(D("train/loop"), D("train"));
        var roots = new DataRoots(_data);
        // "**" does not descend into links: the loop adds nothing.
        Assert.Equal([D("train/deep/y.jsonl"), D("train/x.jsonl")], roots.ResolveFiles(["train/**/*.jsonl"]));

        // A wildcard segment follows a link, once per segment: the depth bound ends it.
        var e = Assert.Throws<SourcePathException>(() => roots.ResolveFiles([string.Concat(Enumerable.Repeat("*/", 40)) + "*.jsonl"]));
        Assert.Contains("GlobMaxDepth", e.Message);

        // A link to itself is a loop: refused by name, not a server error.
        File.CreateSymbolicLink(D("self.csv"), D("self.csv"));
        e = Assert.Throws<SourcePathException>(() => roots.ResolveFiles(["*.csv"]));
        Assert.Contains("self.csv", e.Message);
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

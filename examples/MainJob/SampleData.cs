using System.Globalization;
using System.Text;

namespace OrleansShards.MainJob;

/// <summary>The sample dataset: CSV files with a unique integer id, quoted text with commas and line breaks, and numbers.</summary>
internal static class SampleData
{
    public static IReadOnlyList<string> Ensure(string directory, long rows, int files)
    {
        Directory.CreateDirectory(directory);
        var marker = Path.Combine(directory, $"sample-{rows}-{files}.done");
        var paths = Enumerable.Range(0, files).Select(f => Path.Combine(directory, $"part-{f:D3}.csv")).ToList();
        if (File.Exists(marker) && paths.All(File.Exists))
        {
            return paths;
        }

        foreach (var stale in Directory.GetFiles(directory, "part-*.csv*").Concat(Directory.GetFiles(directory, "sample-*.done")))
        {
            File.Delete(stale);
        }

        var perFile = rows / files;
        Parallel.For(0, files, f =>
        {
            var first = f * perFile;
            var last = f == files - 1 ? rows : first + perFile;
            using var writer = new StreamWriter(paths[f], false, new UTF8Encoding(false), 1 << 20);
            writer.Write("id,name,score,label,comment\n");
            var random = new Random(f);
            for (var id = first; id < last; id++)
            {
                writer.Write(id.ToString(CultureInfo.InvariantCulture));
                writer.Write(",user-");
                writer.Write((id * 7919 % 100_000).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write((random.NextDouble() * 100).ToString("F3", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(random.Next(10).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                // Every 50th record carries a quoted comment with a comma, a quote and a line break.
                writer.Write(id % 50 == 0 ? "\"said \"\"hi\"\", then\nleft\"" : "ok");
                writer.Write('\n');
            }
        });
        File.WriteAllText(marker, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        return paths;
    }
}

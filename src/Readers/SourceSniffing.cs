using System.Text;

namespace OrleansShards.Readers;

/// <summary>
/// Looks at the first bytes of a source's files before a job is made of them, so a file of another kind is refused at
/// creation with a hint (<c>kind: csv</c> over JSON Lines used to serve <c>{"{\"id\": 0":"{\"id\": 1", ...}</c>). Only
/// what is certain is refused: a CSV file that starts as JSON, a JSON Lines file that does not start with an object,
/// a Parquet file without its magic bytes. Empty files and TFRecord pass.
/// </summary>
internal static class SourceSniffing
{
    private const int FilesChecked = 16;
    private const int BytesRead = 64;

    /// <summary>Throws <see cref="SourceSpecException"/> on <c>source.kind</c> when one of the first files is plainly not of <paramref name="kind"/>.</summary>
    public static void Check(string kind, IReadOnlyList<string> files, Func<string, string> display)
    {
        Span<byte> head = stackalloc byte[BytesRead];
        foreach (var file in files.Take(FilesChecked))
        {
            int read;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
                read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            }
            catch (IOException)
            {
                // Not readable now: describing the file reports it with its reason.
                continue;
            }

            if (Mismatch(kind, head[..read]) is { } reason)
            {
                throw new SourceSpecException("source.kind", $"'{display(file)}' {reason}");
            }
        }
    }

    /// <summary>Why <paramref name="head"/> (a file's first bytes) is not of <paramref name="kind"/>, or null when it may be.</summary>
    internal static string? Mismatch(string kind, ReadOnlySpan<byte> head)
    {
        var text = head.StartsWith("\xEF\xBB\xBF"u8) ? head[3..] : head;
        text = text.TrimStart(" \t\r\n"u8);
        if (text.IsEmpty && kind != "parquet")
        {
            return null;
        }

        return kind switch
        {
            "csv" when text[0] is (byte)'{' || (text[0] is (byte)'[' && text.Length > 1 && text[1..].TrimStart(" \t\r\n"u8) is [(byte)'{' or (byte)'"' or (byte)']', ..]) =>
                $"starts with '{(char)text[0]}': it looks like JSON, not CSV; use \"kind\": \"jsonl\" for one JSON object a line",
            "jsonl" when text[0] is not (byte)'{' =>
                $"starts with '{Shown(text)}', not '{{': JSON Lines holds one JSON object a line{(text.IndexOf((byte)',') > 0 ? "; if it is CSV, use \"kind\": \"csv\"" : "")}",
            "parquet" when !head.StartsWith("PAR1"u8) =>
                "does not start with Parquet's magic bytes 'PAR1': it is not a Parquet file",
            _ => null,
        };
    }

    private static string Shown(ReadOnlySpan<byte> text)
    {
        var line = text[..Math.Min(text.Length, 20)];
        var end = line.IndexOfAny("\r\n"u8);
        return Encoding.UTF8.GetString(end >= 0 ? line[..end] : line);
    }
}

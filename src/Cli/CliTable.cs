using Spectre.Console;

namespace OrleansShards.Cli;

/// <summary>A cell: plain text, and the Spectre style it takes on a terminal.</summary>
internal readonly record struct CliCell(string Text, string? Style = null)
{
    public static implicit operator CliCell(string text) => new(text);
}

/// <summary>
/// A table that fits where it goes: on a terminal a Spectre table sized to the terminal's width; piped or
/// redirected, plain lines with tab-separated cells, never wrapped, so ids stay whole for grep, cut and awk.
/// </summary>
internal sealed class CliTable(params string[] headers)
{
    private readonly List<CliCell[]> _rows = [];

    public string? Title { get; init; }

    public bool ShowHeaders { get; init; } = true;

    public int Count => _rows.Count;

    public CliTable Add(params CliCell[] cells)
    {
        _rows.Add(cells);
        return this;
    }

    public void Write()
    {
        if (Console.IsOutputRedirected)
        {
            WritePlain(Console.Out);
            return;
        }

        var table = new Table();
        if (Title is not null)
        {
            table.Title(Markup.Escape(Title));
        }

        table.AddColumns(headers.Select(h => new TableColumn(Markup.Escape(h))).ToArray());
        if (!ShowHeaders)
        {
            table.HideHeaders();
        }

        foreach (var row in _rows)
        {
            table.AddRow(row.Select(c => c.Style is null ? Markup.Escape(c.Text) : $"[{c.Style}]{Markup.Escape(c.Text)}[/]").ToArray());
        }

        AnsiConsole.Write(table);
    }

    public void WritePlain(TextWriter output)
    {
        if (Title is not null)
        {
            output.WriteLine($"# {Title}");
        }

        if (ShowHeaders)
        {
            output.WriteLine(string.Join('\t', headers));
        }

        foreach (var row in _rows)
        {
            output.WriteLine(string.Join('\t', row.Select(c => Flat(c.Text))));
        }
    }

    private static string Flat(string text) => CliErrors.OneLine(text).Replace('\t', ' ');
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace OrleansShards.Cli;

/// <summary><c>shards topic create|list|describe|delete|append|tail</c>: the built-in live log (docs/http-api.md, "Topics").</summary>
internal static class TopicCommands
{
    private const int AppendChunk = 1000;

    public static Command Build()
    {
        var topic = new Command("topic", "Create, list, describe and delete topics of the built-in log; append records, tail a partition");

        var createName = new Argument<string>("name") { Description = "The topic" };
        var partitions = new Option<int>("--partitions", "-p") { Description = "Number of partitions", DefaultValueFactory = _ => 1 };
        var create = new Command("create", "Create a topic") { createName, partitions };
        create.SetAction(async (context, cancellationToken) =>
        {
            var name = context.Parse.GetRequiredValue(createName);
            var count = context.Parse.GetValue(partitions);
            if (count < 1)
            {
                throw new CliException($"--partitions must be at least 1, not {count}");
            }

            await context.Client().CreateTopicAsync(name, count, cancellationToken);
            Console.Out.WriteLine($"topic {name}: {count} partition(s)");
            return 0;
        });
        topic.Add(create);

        var appendName = new Argument<string>("name") { Description = "The topic" };
        var appendPartition = new Option<int>("--partition") { Description = "The partition", DefaultValueFactory = _ => 0 };
        var file = new Option<string?>("--file", "-f") { Description = "JSON Lines to append (stdin when absent)" };
        var append = new Command("append", "Append JSON Lines (one record a line) to a partition; prints the offsets") { appendName, appendPartition, file };
        append.SetAction(async (context, cancellationToken) =>
        {
            var name = context.Parse.GetRequiredValue(appendName);
            var partition = context.Parse.GetValue(appendPartition);
            var path = context.Parse.GetValue(file);
            using var reader = path is null or "-" ? Console.In : OpenText(path);
            var source = path ?? "stdin";
            var client = context.Client();
            var batch = new List<JsonElement>();
            long? first = null;
            long next = 0;
            var lineNumber = 0;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                try
                {
                    using var parsed = JsonDocument.Parse(line);
                    batch.Add(parsed.RootElement.Clone());
                }
                catch (JsonException e)
                {
                    throw new CliException($"{source} line {lineNumber}: not valid JSON: {CliErrors.OneLine(e.Message)}; {(first is null ? "nothing was appended" : $"the lines before were appended at offsets {first}..{next - 1}")}");
                }

                if (batch.Count == AppendChunk)
                {
                    var result = await client.AppendAsync(name, partition, batch, cancellationToken);
                    first ??= result.FirstOffset;
                    next = result.NextOffset;
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                var result = await client.AppendAsync(name, partition, batch, cancellationToken);
                first ??= result.FirstOffset;
                next = result.NextOffset;
            }

            Console.Out.WriteLine(first is null ? "nothing to append" : $"appended offsets {first}..{next - 1} to {name}/{partition}");
            return 0;
        });
        topic.Add(append);

        var tailName = new Argument<string>("name") { Description = "The topic" };
        var tailPartition = new Option<int>("--partition") { Description = "The partition", DefaultValueFactory = _ => 0 };
        var from = new Option<long>("--from") { Description = "The first offset to print", DefaultValueFactory = _ => 0 };
        var follow = new Option<bool>("--follow") { Description = "Keep printing records as they land (Server-Sent Events) until Ctrl+C" };
        var tail = new Command("tail", "Print a partition's records as JSON Lines ({\"offset\", \"value\"}) from an offset") { tailName, tailPartition, from, follow };
        tail.SetAction(async (context, cancellationToken) =>
        {
            var name = context.Parse.GetRequiredValue(tailName);
            var partition = context.Parse.GetValue(tailPartition);
            var offset = context.Parse.GetValue(from);
            var client = context.Client();
            if (context.Parse.GetValue(follow))
            {
                try
                {
                    await foreach (var record in client.StreamTopicAsync(name, partition, offset, cancellationToken))
                    {
                        Print(record.Offset, record.Value);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C ends a follow: that is how it is meant to stop.
                }

                return 0;
            }

            while (true)
            {
                var page = await client.ReadTopicAsync(name, partition, offset, null, cancellationToken);
                foreach (var record in page.Records)
                {
                    Print(record.Offset, record.Value);
                }

                if (page.Records.Count == 0 || page.NextOffset >= page.HighWatermark)
                {
                    return 0;
                }

                offset = page.NextOffset;
            }
        });
        topic.Add(tail);

        var list = new Command("list", "List the topics");
        list.SetAction(async (context, cancellationToken) =>
        {
            var topics = await context.Client().ListTopicsAsync(cancellationToken);
            if (topics.Count == 0)
            {
                Console.Out.WriteLine("no topics");
                return 0;
            }

            var table = new CliTable("topic", "partitions", "created");
            foreach (var t in topics)
            {
                table.Add(t.Name, N(t.Partitions), t.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
            }

            table.Write();
            return 0;
        });
        topic.Add(list);

        var describeName = new Argument<string>("name") { Description = "The topic" };
        var describe = new Command("describe", "Show a topic's partitions: first retained offset, high-water mark, records held") { describeName };
        describe.SetAction(async (context, cancellationToken) =>
        {
            var info = await context.Client().DescribeTopicAsync(context.Parse.GetRequiredValue(describeName), cancellationToken);
            var table = new CliTable("partition", "first retained", "high-water mark", "records held") { Title = $"topic {info.Name}, created {info.CreatedAt.ToString("u", CultureInfo.InvariantCulture)}" };
            foreach (var p in info.Partitions)
            {
                table.Add(N(p.Partition), N(p.FirstRetained), N(p.HighWatermark), N(p.Retained));
            }

            table.Write();
            return 0;
        });
        topic.Add(describe);

        var deleteName = new Argument<string>("name") { Description = "The topic" };
        var delete = new Command("delete", "Delete a topic and all its records") { deleteName };
        delete.SetAction(async (context, cancellationToken) =>
        {
            var name = context.Parse.GetRequiredValue(deleteName);
            await context.Client().DeleteTopicAsync(name, cancellationToken);
            Console.Out.WriteLine($"topic {name}: deleted");
            return 0;
        });
        topic.Add(delete);
        return topic;
    }

    private static void Print(long offset, JsonElement value) =>
        Console.Out.WriteLine($"{{\"offset\":{offset},\"value\":{value.GetRawText()}}}");

    private static StreamReader OpenText(string path)
    {
        try
        {
            return new StreamReader(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{path}: cannot read: {e.Message}");
        }
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

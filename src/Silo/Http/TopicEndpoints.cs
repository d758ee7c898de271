using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.GrainInterfaces.Http;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The built-in live log over HTTP (docs/http-api.md, Topics): create topics, append records durably,
/// read them back from any retained offset, and follow a partition over Server-Sent Events or a
/// WebSocket from an offset. Followers read the log itself page by page, awaiting each write to
/// the socket: a slow follower costs one page of memory, never a growing buffer, and catches up
/// by reading on. Every page (a read, a follower's) stops at <see cref="OrleansShards.Readers.ReadLimits.TopicPageMaxBytes"/>
/// of record values as well as at its count, with at least one record.
/// </summary>
public static class TopicEndpoints
{
    /// <summary>The most records one append may hold.</summary>
    public const int MaxRecordsPerAppend = 100_000;

    /// <summary>The largest append body, in bytes.</summary>
    public const int MaxAppendBytes = 64 * 1024 * 1024;

    private const int MaxReadLimit = 100_000;
    private const int DefaultReadLimit = 1_000;
    private const int FollowPage = 1_000;
    private const int SseCopyBelow = 64 * 1024;
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);

    /// <summary>Maps the topic routes.</summary>
    public static IEndpointRouteBuilder MapTopics(this IEndpointRouteBuilder app)
    {
        var topics = app.MapGroup("/v1/topics").AddEndpointFilter(ApiProblems.Filter).WithTags("Topics");
        topics.MapPost("", CreateTopic)
            .WithSummary("Create a topic").WithDescription("201 with the topic; the same name and partition count again is 200; another partition count is 409.")
            .Accepts<CreateTopicBody>("application/json").Produces<TopicDescription>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        topics.MapGet("", async (ILogStore store, CancellationToken cancellationToken) =>
            Results.Ok(new { topics = await store.ListTopicsAsync(cancellationToken) }))
            .WithSummary("List topics");
        topics.MapGet("/{topic}", DescribeTopic)
            .WithSummary("A topic with each partition's first retained offset and high-water mark").ProducesProblem(StatusCodes.Status404NotFound);
        topics.MapDelete("/{topic}", async (string topic, ILogStore store, CancellationToken cancellationToken) =>
            await store.DeleteTopicAsync(topic, cancellationToken) ? Results.NoContent() : TopicNotFound(topic))
            .WithSummary("Delete a topic and its records").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        topics.MapPost("/{topic}/partitions", AddPartitions)
            .WithSummary("Grow a topic to more partitions").WithDescription("Live jobs on the topic pick the new partitions up within seconds.")
            .Accepts<AddPartitionsBody>("application/json").Produces<TopicDescription>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        topics.MapPost("/{topic}/partitions/{partition:int}/records", Append)
            .WithSummary("Append records").WithDescription("A JSON array of JSON objects, appended in one transaction; answered {firstOffset, nextOffset} once durable. A bad record refuses the whole append and names its index.")
            .Produces<AppendResult>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        topics.MapGet("/{topic}/partitions/{partition:int}/records", Read)
            .WithSummary("Read records from an offset").WithDescription("{records: [{offset, value}], nextOffset, highWatermark}. Below the first retained offset: 410 with firstRetained.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status410Gone);
        topics.MapGet("/{topic}/partitions/{partition:int}/stream", FollowOverServerSentEvents)
            .WithSummary("Follow a partition over Server-Sent Events").WithDescription("From ?from= or after the Last-Event-ID header; id: is the offset, data: the record; records that land later are pushed as they land. If retention removes records the follower has not read, an event 'truncated' with {firstRetained} ends the stream.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status410Gone);
        topics.MapGet("/{topic}/partitions/{partition:int}/ws", FollowOverWebSocket)
            .WithSummary("Follow a partition over a WebSocket").WithDescription("From ?from=; one JSON message {offset, value} per record. If retention removes records the follower has not read, the socket closes (policy violation) naming the first retained offset.")
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status410Gone);
        return app;
    }

    private static async Task<IResult> CreateTopic(HttpContext context, ILogStore store)
    {
        var body = await JsonSerializer.DeserializeAsync<CreateTopicBody>(context.Request.Body, JsonOptionsOf(context), context.RequestAborted)
            ?? throw new ShardsException(ShardsErrorKind.Invalid, "body", "a JSON object {\"name\", \"partitions\"} is required");
        var name = ValidName(body.Name);
        var partitions = body.Partitions ?? throw new ShardsException(ShardsErrorKind.Invalid, "partitions", "partitions is required");
        if (partitions is < 1 or > 10_000)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partitions", "must be between 1 and 10000");
        }

        var existed = await store.GetTopicAsync(name, context.RequestAborted) is not null;
        var topic = await store.CreateTopicAsync(name, partitions, context.RequestAborted);
        return existed ? Results.Ok(topic) : Results.Created($"/v1/topics/{Uri.EscapeDataString(name)}", topic);
    }

    private static async Task<IResult> DescribeTopic(string topic, ILogStore store, CancellationToken cancellationToken)
    {
        var description = await store.GetTopicAsync(topic, cancellationToken);
        if (description is null)
        {
            return TopicNotFound(topic);
        }

        var partitions = new List<object>(description.Partitions);
        for (var p = 0; p < description.Partitions; p++)
        {
            var bounds = await store.GetBoundsAsync(topic, p, cancellationToken);
            partitions.Add(new { partition = p, firstRetained = bounds.FirstRetained, highWatermark = bounds.HighWatermark });
        }

        return Results.Ok(new { name = description.Name, createdAt = description.CreatedAt, partitions });
    }

    private static async Task<IResult> AddPartitions(string topic, HttpContext context, ILogStore store)
    {
        var body = await JsonSerializer.DeserializeAsync<AddPartitionsBody>(context.Request.Body, JsonOptionsOf(context), context.RequestAborted);
        if (body?.Partitions is not { } partitions || partitions is < 1 or > 10_000)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partitions", "partitions is required, between 1 and 10000");
        }

        return Results.Ok(await store.AddPartitionsAsync(topic, partitions, context.RequestAborted));
    }

    private static async Task<IResult> Append(string topic, int partition, HttpContext context, ILogStore store)
    {
        var body = await ReadWholeBody(context);
        try
        {
            var records = SplitRecords(body.WrittenMemory);
            if (records.Count == 0)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "body", "the array holds no record: send at least one");
            }

            var result = await store.AppendAsync(topic, partition, records, context.RequestAborted);
            return Results.Ok(new { firstOffset = result.FirstOffset, nextOffset = result.NextOffset });
        }
        finally
        {
            body.Clear();
        }
    }

    private static async Task<IResult> Read(string topic, int partition, long? from, int? limit, ILogStore store, HttpContext context)
    {
        var start = from ?? 0;
        if (start < 0)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "from", "must be 0 or more");
        }

        var count = limit ?? DefaultReadLimit;
        if (count is < 1 or > MaxReadLimit)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "limit", $"must be between 1 and {MaxReadLimit}");
        }

        var read = await store.ReadAsync(topic, partition, start, count, PageBytes(context), context.RequestAborted);
        context.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("records"u8);
            foreach (var record in read.Records)
            {
                writer.WriteStartObject();
                writer.WriteNumber("offset"u8, record.Offset);
                writer.WritePropertyName("value"u8);
                writer.WriteRawValue(record.Value.Span, skipInputValidation: true);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNumber("nextOffset"u8, read.NextOffset(start));
            writer.WriteNumber("highWatermark"u8, read.Bounds.HighWatermark);
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        return Results.Empty;
    }

    private static async Task<IResult> FollowOverServerSentEvents(string topic, int partition, long? from, ILogStore store, HttpContext context)
    {
        var start = StartOffset(from, context.Request.Headers["Last-Event-ID"].ToString());
        // Fails here, with a ProblemDetails answer, for an unknown partition or an offset retention removed.
        var first = await store.ReadAsync(topic, partition, start, FollowPage, PageBytes(context), context.RequestAborted);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(context.RequestAborted);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            await FollowSse(store, topic, partition, start, PageBytes(context), first, response, buffer, context.RequestAborted);
        }
        catch (LogTruncatedException e)
        {
            // Retention removed records this follower had not read yet: say so in the stream, then end it.
            buffer.ResetWrittenCount();
            WriteAscii(buffer, string.Create(CultureInfo.InvariantCulture, $"event: truncated\ndata: {{\"firstRetained\":{e.FirstRetained}}}\n\n"));
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);
        }

        return Results.Empty;
    }

    private static Task FollowSse(ILogStore store, string topic, int partition, long start, long pageBytes, LogReadResult first, HttpResponse response, ArrayBufferWriter<byte> buffer, CancellationToken aborted) =>
        Follow(store, topic, partition, start, pageBytes, first, aborted, async (records, cancellationToken) =>
        {
            buffer.ResetWrittenCount();
            if (records.Count == 0)
            {
                buffer.Write(": keep-alive\n\n"u8);
            }

            foreach (var record in records)
            {
                WriteAscii(buffer, string.Create(CultureInfo.InvariantCulture, $"id: {record.Offset}\ndata: "));
                // A JSON value written by the store holds no raw line break (JSON escapes them in strings), so it fits one data line.
                if (record.Value.Length < SseCopyBelow)
                {
                    buffer.Write(record.Value.Span);
                }
                else
                {
                    // A large value goes out from the page's own bytes: the page read stays the only copy.
                    await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
                    buffer.ResetWrittenCount();
                    await response.Body.WriteAsync(record.Value, cancellationToken);
                }

                buffer.Write("\n\n"u8);
                if (buffer.WrittenCount >= SseCopyBelow)
                {
                    await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
                    buffer.ResetWrittenCount();
                }
            }

            await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        });

    private static async Task<IResult> FollowOverWebSocket(string topic, int partition, long? from, ILogStore store, HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "connection", "this route speaks WebSocket: send an upgrade request (GET with Connection: Upgrade, Upgrade: websocket)");
        }

        var start = StartOffset(from, null);
        var first = await store.ReadAsync(topic, partition, start, FollowPage, PageBytes(context), context.RequestAborted);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // The client sends nothing but a close: notice it so that the follow loop ends.
        var receiving = WatchForClose(socket, closing);
        var buffer = new ArrayBufferWriter<byte>(4 * 1024);
        try
        {
            await Follow(store, topic, partition, start, PageBytes(context), first, closing.Token, async (records, cancellationToken) =>
            {
                foreach (var record in records)
                {
                    buffer.ResetWrittenCount();
                    using (var writer = new Utf8JsonWriter(buffer))
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("offset"u8, record.Offset);
                        writer.WritePropertyName("value"u8);
                        writer.WriteRawValue(record.Value.Span, skipInputValidation: true);
                        writer.WriteEndObject();
                    }

                    await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                }
            });
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
        }
        catch (WebSocketException)
        {
            // The client went away without a close handshake.
        }
        catch (LogTruncatedException e) when (socket.State == WebSocketState.Open)
        {
            // Retention removed records this follower had not read yet: say so in the close, which ends the stream.
            await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, string.Create(CultureInfo.InvariantCulture, $"truncated: first retained offset {e.FirstRetained}"), CancellationToken.None);
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        await receiving;
        return Results.Empty;
    }

    private static async Task WatchForClose(WebSocket socket, CancellationTokenSource closing)
    {
        var scratch = new byte[1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(scratch, closing.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            await closing.CancelAsync();
        }
    }

    /// <summary>
    /// Sends <paramref name="first"/>, then every later record page by page; when caught up, waits
    /// for an append (sending an empty page as a keep-alive every so often) until cancelled.
    /// </summary>
    private static async Task Follow(
        ILogStore store, string topic, int partition, long start, long pageBytes, LogReadResult first, CancellationToken cancellationToken,
        Func<IReadOnlyList<LogRecord>, CancellationToken, Task> send)
    {
        var next = start;
        var read = first;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (read.Records.Count > 0)
                {
                    await send(read.Records, cancellationToken);
                    next = read.NextOffset(next);
                }
                else if (!await store.WaitForAppendAsync(topic, partition, next, KeepAliveEvery, cancellationToken))
                {
                    await send([], cancellationToken);
                }

                read = await store.ReadAsync(topic, partition, next, FollowPage, pageBytes, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The byte budget of one page of record values (<c>Shards:Reads:TopicPageMaxBytes</c>).</summary>
    private static long PageBytes(HttpContext context) =>
        context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrleansShards.Grains.ShardsOptions>>().Value.Reads.TopicPageMaxBytes;

    private static long StartOffset(long? from, string? lastEventId)
    {
        if (from is { } offset)
        {
            return offset >= 0 ? offset : throw new ShardsException(ShardsErrorKind.Invalid, "from", "must be 0 or more");
        }

        if (!string.IsNullOrWhiteSpace(lastEventId))
        {
            // The last event the client received: resume after it.
            return long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) && last < long.MaxValue
                ? last + 1
                : throw new ShardsException(ShardsErrorKind.Invalid, "Last-Event-ID", $"'{lastEventId}' is not an offset");
        }

        return 0;
    }

    private static void WriteAscii(ArrayBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(text.Length);
        var written = Encoding.ASCII.GetBytes(text, span);
        buffer.Advance(written);
    }

    private static async Task<ArrayBufferWriter<byte>> ReadWholeBody(HttpContext context)
    {
        var length = context.Request.ContentLength;
        if (length > MaxAppendBytes)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "body", $"the body has {length} bytes; an append holds at most {MaxAppendBytes}");
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Max(256, length ?? 4096));
        var stream = context.Request.Body;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.GetMemory(16 * 1024), context.RequestAborted);
            if (read == 0)
            {
                return buffer;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > MaxAppendBytes)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "body", $"the body is larger than {MaxAppendBytes} bytes, the most an append may hold");
            }
        }
    }

    /// <summary>Cuts a JSON array of objects into the raw bytes of each object; refuses anything else, naming the record.</summary>
    internal static List<ReadOnlyMemory<byte>> SplitRecords(ReadOnlyMemory<byte> json)
    {
        var records = new List<ReadOnlyMemory<byte>>();
        var reader = new Utf8JsonReader(json.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "body", "the body must be a JSON array of records: [{...}, {...}]");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new ShardsException(ShardsErrorKind.Invalid, $"[{records.Count}]", $"record {records.Count} is a {reader.TokenType}, not a JSON object of columns");
                }

                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                records.Add(json[start..(int)reader.BytesConsumed]);
                if (records.Count > MaxRecordsPerAppend)
                {
                    throw new ShardsException(ShardsErrorKind.Invalid, "body", $"an append holds at most {MaxRecordsPerAppend} records");
                }
            }

            if (reader.Read())
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "body", "the body holds more than the one JSON array");
            }
        }
        catch (JsonException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, $"[{records.Count}]", $"the body is not valid JSON at record {records.Count} (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): nothing was appended");
        }

        return records;
    }

    private static string ValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "name", "must be 1 to 128 characters of letters, digits, '-', '_' or '.'");
        }

        return name;
    }

    private static IResult TopicNotFound(string topic) => ApiProblems.Problem(StatusCodes.Status404NotFound, $"topic '{topic}' does not exist", "topic");

    private static JsonSerializerOptions JsonOptionsOf(HttpContext context) =>
        context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
}

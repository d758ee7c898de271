using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>A job spec the server cannot read is answered in the writer's terms: the field as written, what it must be, the closest known field.</summary>
public sealed class SpecErrorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("""{"id":"e1","source":{"kind":"csv","paths":["small.csv"]},"shardsize":5}""", "shardsize", "'shardsize' is not a known field (line 1, position", "did you mean 'shardSize'?")]
    [InlineData("""{"id":"e2","source":{"kind":"csv","paths":["small.csv"],"delimter":";"}}""", "source.delimter", "'delimter' is not a known field in 'source'", "did you mean 'delimiter'?")]
    [InlineData("""{"id":"e3","source":{"kind":"csv","paths":["small.csv"]},"shardSize":"big"}""", "shardSize", "'shardSize' must be a whole number", "(line 1, position")]
    [InlineData("""{"id":"e4","source":{"kind":"csv","paths":"small.csv"}}""", "source.paths", "'source.paths' must be a list", "(line 1, position")]
    [InlineData("""{"id":"e5","source":{"kind":"csv","paths":["small.csv"]},"colour":1}""", "colour", "'colour' is not a known field", "known fields: durability, epochs")]
    [InlineData("""{"id":"e6","source":{"kind":"csv","paths":["small.csv"]},"sources":[{"name":"a","wieght":1}]}""", "sources[0].wieght", "'wieght' is not a known field in 'sources[0]'", "did you mean 'weight'?")]
    public async Task An_unreadable_spec_names_the_field_and_what_it_should_be_without_dotnet_type_names(string body, string field, string says, string andSays)
    {
        using var response = await server.Http.PostAsync("v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(says, detail, StringComparison.Ordinal);
        Assert.Contains(andSays, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("OrleansShards.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(".NET", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("csv", "looks-json.csv", "{\"id\": 0}\n{\"id\": 1}\n", "starts with '{': it looks like JSON, not CSV; use \"kind\": \"jsonl\"")]
    [InlineData("jsonl", "looks-csv.jsonl", "id,name\n1,a\n", "starts with 'id,name', not '{': JSON Lines holds one JSON object a line; if it is CSV, use \"kind\": \"csv\"")]
    [InlineData("parquet", "looks-text.parquet", "id,name\n1,a\n", "does not start with Parquet's magic bytes 'PAR1'")]
    public async Task A_file_whose_first_bytes_are_another_kind_is_refused_at_creation_with_a_hint(string kind, string file, string content, string says)
    {
        server.File(Path.Combine("data", file), content);
        using var response = await server.Http.PostAsync("v1/jobs", new StringContent($$$"""{"id":"sniff-{{{kind}}}","source":{"kind":"{{{kind}}}","paths":["{{{file}}}"]}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("source.kind", problem.GetProperty("field").GetString());
        Assert.Contains($"'{file}' {says}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_csv_file_with_a_byte_order_mark_and_a_plain_header_is_accepted()
    {
        server.File(Path.Combine("data", "bom.csv"), "\uFEFFid,name\n1,a\n");
        using var response = await server.Http.PostAsync("v1/jobs", new StringContent("""{"id":"sniff-bom","source":{"kind":"csv","paths":["bom.csv"]}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The status page at / in a real headless Chromium (Debian's package, driven by Playwright) against the real
/// server with authentication on: it shows a running job, and its progress moves as a worker leases and reports
/// through HTTP while the page is open. The screenshot is kept as <c>TestResults/status-page.png</c> beside the
/// test assembly (or under <c>$TEST_RESULTS</c>) and attached to the test result.
/// </summary>
public sealed class StatusPageTests(SecuredServerFixture server) : IClassFixture<SecuredServerFixture>
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static void RequireChromium()
    {
        if (File.Exists(Chromium))
        {
            return;
        }

        var missing = $"{Chromium} is not installed (apt-get install -y chromium): the status page is not tested in a browser";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(missing + " (CI is set: the browser test must run)");
        }

        Console.Error.WriteLine("SKIPPED: " + missing);
        Assert.Skip(missing);
    }

    private static async Task<(IPlaywright Playwright, IBrowser Browser)> Launch()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        return (playwright, browser);
    }

    private static async Task<JsonElement> Post(HttpClient http, string path, string json)
    {
        var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task CreateJob(string id, int shards)
    {
        using var admin = server.AsRole("admin");
        await Post(admin, "v1/jobs", $$"""{"id":"{{id}}","source":{"kind":"csv","paths":["small.csv"]},"shardSize":{{3_000 / shards}},"epochs":2,"seed":7}""");
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await admin.GetFromJsonAsync<JsonElement>($"v1/jobs/{id}");
            if (status.GetProperty("shards").GetProperty("total").GetInt64() == shards)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{id} did not describe its source in {Patience.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    private static string ResultsDirectory()
    {
        var directory = Environment.GetEnvironmentVariable("TEST_RESULTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(directory);
        return directory;
    }

    [Fact]
    public async Task The_page_shows_a_running_job_and_its_progress_moves_as_workers_report()
    {
        RequireChromium();
        const string job = "page-job";
        await CreateJob(job, shards: 30);
        var (playwright, browser) = await Launch();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(new Uri(server.Address, "/?token=" + SecuredServerFixture.ReaderToken).ToString());
        var progress = page.GetByTestId($"progress-{job}");
        await Assertions.Expect(progress).ToHaveTextAsync("0 / 30 shards done");
        await Assertions.Expect(page.GetByTestId($"state-{job}")).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        Assert.DoesNotContain("token", page.Url, StringComparison.Ordinal); // taken off the address bar

        // A worker leases five tasks: the page shows it and its leases.
        using var worker = server.AsRole("worker");
        var batch = await Post(worker, $"v1/jobs/{job}/leases", """{"workerId":"page-worker","maxTasks":5}""");
        var leases = batch.GetProperty("leases").EnumerateArray().ToList();
        Assert.Equal(5, leases.Count);
        await Assertions.Expect(page.GetByTestId($"doing-{job}")).ToHaveTextAsync("5");
        await Assertions.Expect(page.GetByTestId($"workers-{job}")).ToContainTextAsync("page-worker");
        await Assertions.Expect(page.GetByTestId($"workers-{job}")).ToContainTextAsync(leases[0].GetProperty("taskId").GetString()!);

        // It reports them done: progress, counters and the epoch bar move.
        foreach (var lease in leases)
        {
            await Post(worker, $"v1/jobs/{job}/reports", JsonSerializer.Serialize(new
            {
                taskId = lease.GetProperty("taskId").GetString(),
                leaseId = lease.GetProperty("leaseId").GetString(),
                workerId = "page-worker",
                outcome = "done",
            }));
        }

        await Assertions.Expect(progress).ToHaveTextAsync("5 / 30 shards done");
        await Assertions.Expect(page.GetByTestId($"doing-{job}")).ToHaveTextAsync("0");
        await Assertions.Expect(page.GetByTestId($"todo-{job}")).ToHaveTextAsync("25");
        await Assertions.Expect(page.GetByTestId($"workers-{job}")).ToHaveTextAsync("No lease in flight.");
        // Elapsed time and, for a running job of known size, the time left.
        await Assertions.Expect(page.GetByTestId($"timing-{job}")).ToHaveTextAsync(new Regex(@"^elapsed \d\d:\d\d:\d\d · ETA (\d\d:\d\d:\d\d|\?)$"));
        await Assertions.Expect(page.GetByTestId($"attempts-failed-{job}")).ToHaveTextAsync("0");
        var doneWidth = await page.GetByTestId($"epoch-{job}-0").Locator(".done").EvaluateAsync<string>("node => node.style.width");
        Assert.Equal(100.0 * 5 / 30, double.Parse(doneWidth.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture), 3);
        // The throughput chart drew the 500 records reported: its peak is not zero.
        await Assertions.Expect(page.Locator($"[data-job='{job}'] svg.chart text")).ToContainTextAsync(new Regex("peak [1-9]"));
        var points = await page.Locator($"[data-job='{job}'] svg.chart polyline").GetAttributeAsync("points");
        Assert.False(string.IsNullOrWhiteSpace(points), "the throughput chart has no point");

        // Two workers hold leases when the screenshot is taken, so it shows every part of the page.
        await Post(worker, $"v1/jobs/{job}/leases", """{"workerId":"page-worker","maxTasks":2}""");
        await Post(worker, $"v1/jobs/{job}/leases", """{"workerId":"page-worker-2","maxTasks":1}""");
        await Assertions.Expect(page.GetByTestId($"workers-{job}")).ToContainTextAsync("page-worker-2");
        await Assertions.Expect(page.GetByTestId($"doing-{job}")).ToHaveTextAsync("3");

        // A failed attempt is in plain sight (the shard goes back to the queue: maxAttempts is 3).
        var failing = (await Post(worker, $"v1/jobs/{job}/leases", """{"workerId":"page-worker-3","maxTasks":1}""")).GetProperty("leases")[0];
        await Post(worker, $"v1/jobs/{job}/reports", JsonSerializer.Serialize(new
        {
            taskId = failing.GetProperty("taskId").GetString(),
            leaseId = failing.GetProperty("leaseId").GetString(),
            workerId = "page-worker-3",
            outcome = "failed",
            error = "disk full",
        }));
        await Assertions.Expect(page.GetByTestId($"attempts-failed-{job}")).ToHaveTextAsync("1");

        // A training run of the job: the page lists it with its committed step and where it resumes.
        await Post(worker, $"v1/jobs/{job}/runs", """{"run":"page-run","globalBatchSize":100}""");
        await Post(worker, $"v1/jobs/{job}/runs/page-run/commits", """{"epoch":0,"step":3,"checkpoint":"ck3"}""");
        await Assertions.Expect(page.GetByTestId($"runs-{job}")).ToContainTextAsync("page-run");
        await Assertions.Expect(page.GetByTestId($"runs-{job}")).ToContainTextAsync("epoch 0 step 3 (ck3)");
        await Assertions.Expect(page.GetByTestId($"runs-{job}")).ToContainTextAsync("epoch 0 step 4");

        var screenshot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        var file = Path.Combine(ResultsDirectory(), "status-page.png");
        await File.WriteAllBytesAsync(file, screenshot);
        TestContext.Current.AddAttachment("status-page.png", screenshot, "image/png");
        TestContext.Current.TestOutputHelper?.WriteLine("screenshot: " + file);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Without_a_token_the_page_asks_for_one_and_uses_it()
    {
        RequireChromium();
        await CreateJob("page-token-job", shards: 3);
        var (playwright, browser) = await Launch();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);

        await page.GotoAsync(server.Address.ToString());
        await Assertions.Expect(page.Locator("#token-form")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("token needed");
        await page.Locator("#token-input").FillAsync(SecuredServerFixture.ReaderToken);
        await page.Locator("#token-form button").ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-page-token-job")).ToHaveTextAsync("0 / 3 shards done");
        await Assertions.Expect(page.Locator("#token-form")).ToBeHiddenAsync();
    }
}

using System.Diagnostics;
using OrleansShards.Client;
using OrleansShards.Core;

/// <summary>
/// Issue 15's speed target: computing the mixture order of a step costs under 5% of serving that step. A run over two
/// sources (rows and rows/20 records) is served over loopback HTTP; the order is computed in process for the same
/// steps, with a journal of three re-weightings, for weights with a short period (0.8/0.2) and a long one (six decimals).
/// </summary>
internal static class MixtureBench
{
    public static async Task<int> RunAsync(
        string dataDir, int rows, int runs, int steps, int g, string[] columns,
        Func<string, Task<Silo>> start, Func<List<double>, double> median, Action<string, int> writeCsv)
    {
        writeCsv(Path.Combine(dataDir, "small.csv"), rows / 20);
        var samples = (long)rows;
        var app = await start(dataDir);
        var client = new ShardsClient(new HttpClient { BaseAddress = app.Address });
        var epochs = runs + 1;
        await client.CreateJobAsync(new JobSpec
        {
            Id = "mix",
            Sources =
            [
                new MixtureSourceSpec { Name = "big", Source = new SourceSpec { Kind = "csv", Paths = ["rows.csv"] }, Weight = 0.8 },
                new MixtureSourceSpec { Name = "small", Source = new SourceSpec { Kind = "csv", Paths = ["small.csv"] }, Weight = 0.2 },
            ],
            SamplesPerEpoch = samples,
            ShardSize = 10_000,
            Epochs = epochs,
            Shuffle = true,
            Seed = 3,
        });
        await client.CreateRunAsync("mix", new RunCreateRequest("r", g));
        var stepsPerEpoch = samples / g;
        steps = (int)Math.Min(steps, stepsPerEpoch - 1);

        // Serving: consecutive steps from the middle of an epoch, after a first (cold) one, as a rank asks for them.
        var servedMs = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var first = (stepsPerEpoch / 2) - (steps / 2);
            (await client.GetBatchAsync("mix", "r", run, first, 0, 1, columns)).Dispose();
            var clock = Stopwatch.StartNew();
            for (var s = first + 1; s <= first + steps; s++)
            {
                (await client.GetBatchAsync("mix", "r", run, s, 0, 1, columns)).Dispose();
            }

            servedMs.Add(clock.Elapsed.TotalMilliseconds / steps);
        }

        await app.DisposeAsync();

        // The order alone, as RunBatchReader computes it per batch: the epoch's MixtureOrder (a pattern cache as the
        // silo keeps) and the G draws of the step.
        var definition = new MixtureDefinition(
            [new MixtureSourceDefinition("big", [rows], 0.8), new MixtureSourceDefinition("small", [rows / 20], 0.2)], 10_000, true, 3, samples);
        Console.WriteLine($"mixture: sources of {rows:N0} and {rows / 20:N0} records, samplesPerEpoch {samples:N0}, G {g}, {steps} steps a measure, {runs} runs; medians");
        Console.WriteLine($"serving a step (JSON, W = 1, prefetched, served mark written): {median(servedMs):F3} ms");
        foreach (var (label, weights) in new[] { ("0.8/0.2 (period 5·G)", new[] { 0.8, 0.2 }), ("0.123457/0.876543 (period 10⁶·G)", new[] { 0.123457, 0.876543 }) })
        {
            MixtureReweighting[] journal =
            [
                new() { FromEpoch = 0, FromPosition = 10L * g, Weights = weights },
                new() { FromEpoch = 1, FromPosition = 5L * g, Weights = [0.5, 0.5] },
                new() { FromEpoch = 2, FromPosition = 0, Weights = weights },
            ];
            var patterns = new Dictionary<string, MixturePattern>();
            var orderMs = new List<double>();
            var layerMs = new List<double>();
            var slots = new MixtureSlot[g];
            var sources = new int[g];
            for (var run = 0; run < runs; run++)
            {
                var epoch = 2 + run;
                var first = (stepsPerEpoch / 2) - (steps / 2);
                var clock = Stopwatch.StartNew();
                for (var s = first + 1; s <= first + steps; s++)
                {
                    var order = new MixtureOrder(definition, g, journal, epoch, w =>
                    {
                        var key = string.Join(',', w);
                        return patterns.TryGetValue(key, out var p) ? p : patterns[key] = new MixturePattern(w, g);
                    });
                    order.Fill(s * g, slots);
                }

                orderMs.Add(clock.Elapsed.TotalMilliseconds / steps);
                clock.Restart();
                for (var s = first + 1; s <= first + steps; s++)
                {
                    var order = new MixtureOrder(definition, g, journal, epoch, w => patterns[string.Join(',', w)]);
                    order.FillSources(s * g, sources);
                }

                layerMs.Add(clock.Elapsed.TotalMilliseconds / steps);
            }

            Console.WriteLine($"weights {label}: the mixture layer of a step (sources and draw numbers) {median(layerMs):F3} ms = {median(layerMs) / median(servedMs):P1} of serving a step; with the sources' own orders (draw -> record) {median(orderMs):F3} ms = {median(orderMs) / median(servedMs):P1}");
        }

        return 0;
    }
}

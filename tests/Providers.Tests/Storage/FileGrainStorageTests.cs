using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansShards.Providers.Files;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>What the file provider adds to the conformance suite: its files on disk.</summary>
public sealed class FileGrainStorageTests(SiloFixture silo) : IClassFixture<SiloFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private FileGrainStorage Open() => new(
        "files",
        new FileGrainStorageOptions { Directory = _dir.File("grains") },
        silo.SiloServices.GetRequiredService<IGrainStorageSerializer>(),
        Options.Create(new ClusterOptions { ServiceId = "file/service", ClusterId = "c" }),
        silo.SiloServices.GetRequiredService<IActivatorProvider>(),
        NullLogger<FileGrainStorage>.Instance);

    [Fact]
    public async Task Each_state_is_one_file_and_no_temporary_file_is_left()
    {
        var storage = Open();
        await storage.InitializeAsync(TestContext.Current.CancellationToken);
        foreach (var key in new[] { "a/b", "a%2Fb", "../../escape", "ünï" })
        {
            await storage.WriteStateAsync("s", GrainId.Create("counter", key), new GrainState<CounterState>(new CounterState { Value = key.Length }));
        }

        var files = Directory.GetFiles(_dir.File("grains"), "*", SearchOption.AllDirectories);
        Assert.Equal(4, files.Length);
        Assert.All(files, f => Assert.EndsWith(".state", f, StringComparison.Ordinal));
        Assert.All(files, f => Assert.StartsWith(_dir.File("grains") + Path.DirectorySeparatorChar, Path.GetFullPath(f), StringComparison.Ordinal));
        foreach (var key in new[] { "a/b", "a%2Fb", "../../escape", "ünï" })
        {
            var back = new GrainState<CounterState>();
            await storage.ReadStateAsync("s", GrainId.Create("counter", key), back);
            Assert.Equal(key.Length, back.State!.Value);
        }
    }

    [Fact]
    public async Task A_file_that_is_not_a_state_file_fails_naming_its_path()
    {
        var storage = Open();
        var id = GrainId.Create("counter", "broken");
        var state = new GrainState<CounterState>(new CounterState { Value = 1 });
        await storage.WriteStateAsync("s", id, state);
        var path = Assert.Single(Directory.GetFiles(_dir.File("grains"), "*.state", SearchOption.AllDirectories));
        await File.WriteAllTextAsync(path, "not a state", TestContext.Current.CancellationToken);

        var read = await Assert.ThrowsAsync<GrainStorageException>(() => storage.ReadStateAsync("s", id, new GrainState<CounterState>()));
        Assert.Contains(path, read.Message, StringComparison.Ordinal);
        var write = await Assert.ThrowsAsync<GrainStorageException>(() => storage.WriteStateAsync("s", id, state));
        Assert.Contains(path, write.Message, StringComparison.Ordinal);
        Assert.Equal("not a state", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }
}

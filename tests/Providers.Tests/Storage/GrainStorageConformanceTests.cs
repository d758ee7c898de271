using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>
/// What every grain storage provider of the silo must do, run against each on its real server. Each test uses a
/// service id of its own, so tests share a server without seeing each other's rows. A provider is built the way a
/// silo builds it: registered in a service collection, its options validated, and started and stopped through a
/// real silo lifecycle.
/// </summary>
public abstract class GrainStorageConformanceTests(SiloFixture silo) : IClassFixture<SiloFixture>, IAsyncDisposable
{
    private const string StorageName = "conformance";
    private readonly List<OpenStorage> _open = [];

    /// <summary>Registers the provider under <paramref name="name"/>, starting its server when needed.</summary>
    protected abstract Task RegisterAsync(IServiceCollection services, string name);

    /// <summary>Whether two service ids on one store see each other's states (they must not, where the provider keys by it).</summary>
    protected virtual bool ServiceIdSeparatesState => true;

    /// <summary>A clear that read nothing over a record someone else wrote: refused, and the record stays.</summary>
    protected virtual async Task ClearWithoutETagOverARecordAsync(IGrainStorage storage, GrainId id)
    {
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", id, State(0)));
        Assert.True((await Read(storage, id)).RecordExists);
    }

    private static GrainId Id(string key) => GrainId.Create("counter", key);

    /// <summary>A state of the counter with <paramref name="value"/> and <paramref name="etag"/>.</summary>
    protected static GrainState<CounterState> State(int value, string? etag = null) =>
        new(new CounterState { Value = value, Label = $"v{value}" }) { ETag = etag };

    private static string NewServiceId() => "svc-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Round_trip_reads_back_what_was_written_with_its_etag()
    {
        var storage = await OpenAsync(NewServiceId());
        var missing = await Read(storage, Id("a"));
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        Assert.Equal(0, missing.State!.Value);

        var state = State(42);
        state.State!.History.Add("h1");
        await storage.WriteStateAsync("s", Id("a"), state);
        Assert.True(state.RecordExists);
        Assert.NotNull(state.ETag);

        var back = await Read(storage, Id("a"));
        Assert.True(back.RecordExists);
        Assert.Equal(state.ETag, back.ETag);
        Assert.Equal(42, back.State!.Value);
        Assert.Equal("v42", back.State.Label);
        Assert.Equal(["h1"], back.State.History);

        var first = state.ETag;
        state.State.Value = 43;
        await storage.WriteStateAsync("s", Id("a"), state);
        Assert.NotEqual(first, state.ETag);
        Assert.Equal(43, (await Read(storage, Id("a"))).State!.Value);

        // Another state name of the same grain is another record.
        Assert.False((await Read(storage, Id("a"), "other")).RecordExists);
    }

    [Fact]
    public async Task Stale_write_is_refused_and_the_stored_state_is_kept()
    {
        var storage = await OpenAsync(NewServiceId());
        var first = State(1);
        await storage.WriteStateAsync("s", Id("c"), first);
        var stale = State(100, first.ETag);

        var second = State(2, first.ETag);
        await storage.WriteStateAsync("s", Id("c"), second);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("c"), stale));
        // A write that read nothing may not overwrite a record someone else wrote.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("c"), State(200)));

        var back = await Read(storage, Id("c"));
        Assert.Equal(2, back.State!.Value);
        Assert.Equal(second.ETag, back.ETag);
    }

    [Fact]
    public async Task First_write_with_a_stale_etag_is_refused()
    {
        var storage = await OpenAsync(NewServiceId());
        var other = State(1);
        await storage.WriteStateAsync("s", Id("other"), other);

        // An ETag this store issued, but for another record: the grain "remembers" a write that is not there.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("fresh"), State(5, other.ETag)));
        Assert.False((await Read(storage, Id("fresh"))).RecordExists);
    }

    [Fact]
    public async Task Delete_then_recreate_refuses_the_etag_from_before_the_delete()
    {
        var storage = await OpenAsync(NewServiceId());
        var state = State(7);
        await storage.WriteStateAsync("s", Id("d"), state);
        var beforeDelete = state.ETag;

        await storage.ClearStateAsync("s", Id("d"), state);
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        var gone = await Read(storage, Id("d"));
        Assert.False(gone.RecordExists);
        Assert.Null(gone.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("d"), State(8, beforeDelete)));

        var recreated = State(9);
        await storage.WriteStateAsync("s", Id("d"), recreated);
        Assert.NotEqual(beforeDelete, recreated.ETag);
        Assert.Equal(9, (await Read(storage, Id("d"))).State!.Value);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("d"), State(10, beforeDelete)));
    }

    [Fact]
    public async Task Clear_checks_the_etag_and_clearing_nothing_succeeds()
    {
        var storage = await OpenAsync(NewServiceId());
        var never = State(0);
        await storage.ClearStateAsync("s", Id("never"), never);
        Assert.False(never.RecordExists);

        var state = State(1);
        await storage.WriteStateAsync("s", Id("e"), state);
        var stale = State(0, state.ETag);
        await storage.WriteStateAsync("s", Id("e"), state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", Id("e"), stale));
        Assert.True((await Read(storage, Id("e"))).RecordExists);

        await storage.ClearStateAsync("s", Id("e"), state);
        Assert.False((await Read(storage, Id("e"))).RecordExists);
        Assert.Equal(0, state.State!.Value);

        // A clear that read nothing may not delete a record someone else wrote.
        await storage.WriteStateAsync("s", Id("f"), State(3));
        await ClearWithoutETagOverARecordAsync(storage, Id("f"));
    }

    [Fact]
    public async Task Large_state_of_several_megabytes_round_trips()
    {
        var storage = await OpenAsync(NewServiceId());
        var state = State(1);
        var random = new Random(17);
        for (var i = 0; i < 1500; i++)
        {
            var chars = new char[4000];
            for (var c = 0; c < chars.Length; c++)
            {
                chars[c] = (char)('a' + random.Next(26));
            }

            state.State!.History.Add(new string(chars));
        }

        await storage.WriteStateAsync("s", Id("large"), state);
        var back = await Read(storage, Id("large"));
        Assert.Equal(state.ETag, back.ETag);
        Assert.Equal(state.State!.History.Count, back.State!.History.Count);
        Assert.Equal(state.State.History, back.State.History);

        back.State.History.RemoveAt(0);
        await storage.WriteStateAsync("s", Id("large"), back);
        Assert.Equal(1499, (await Read(storage, Id("large"))).State!.History.Count);
    }

    [Fact]
    public async Task Hundreds_of_grains_writing_in_parallel_each_keep_their_own_state()
    {
        const int grains = 300;
        const int writes = 4;
        var storage = await OpenAsync(NewServiceId());
        var states = Enumerable.Range(0, grains).Select(_ => State(0)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, grains).Select(async g =>
        {
            await Task.Yield();
            for (var w = 1; w <= writes; w++)
            {
                states[g].State!.Value = g * 1000 + w;
                states[g].State!.History.Add($"g{g}w{w}");
                await storage.WriteStateAsync("s", Id($"p{g}"), states[g]);
            }
        }));

        var etags = new HashSet<string>();
        for (var g = 0; g < grains; g++)
        {
            var back = await Read(storage, Id($"p{g}"));
            Assert.True(back.RecordExists, $"grain p{g} has no record");
            Assert.Equal(g * 1000 + writes, back.State!.Value);
            Assert.Equal(Enumerable.Range(1, writes).Select(w => $"g{g}w{w}"), back.State.History);
            Assert.Equal(states[g].ETag, back.ETag);
            etags.Add(back.ETag!);
        }

        Assert.Equal(grains, etags.Count);
    }

    [Fact]
    public async Task State_survives_a_restart_of_the_provider()
    {
        var serviceId = NewServiceId();
        var before = await OpenAsync(serviceId);
        var state = State(11);
        await before.WriteStateAsync("s", Id("r"), state);
        var cleared = State(12);
        await before.WriteStateAsync("s", Id("gone"), cleared);
        await before.ClearStateAsync("s", Id("gone"), cleared);
        await CloseAsync(before);

        var after = await OpenAsync(serviceId);
        var back = await Read(after, Id("r"));
        Assert.True(back.RecordExists);
        Assert.Equal(11, back.State!.Value);
        Assert.Equal(state.ETag, back.ETag);
        Assert.False((await Read(after, Id("gone"))).RecordExists);

        back.State.Value = 12;
        await after.WriteStateAsync("s", Id("r"), back);
        await Assert.ThrowsAsync<InconsistentStateException>(() => after.WriteStateAsync("s", Id("r"), State(13, state.ETag)));

        // Another service id on the same store sees none of it, where the provider keys states by service id.
        var stranger = await OpenAsync(NewServiceId());
        var seen = await Read(stranger, Id("r"));
        if (ServiceIdSeparatesState)
        {
            Assert.False(seen.RecordExists);
        }
        else
        {
            Assert.True(seen.RecordExists);
            Assert.Equal(12, seen.State!.Value);
        }
    }

    /// <summary>Builds, validates and starts the provider for <paramref name="serviceId"/>.</summary>
    protected async Task<IGrainStorage> OpenAsync(string serviceId)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(silo.SiloServices.GetRequiredService<IGrainStorageSerializer>());
        services.AddSingleton(silo.SiloServices.GetRequiredService<IActivatorProvider>());
        services.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = serviceId;
            o.ClusterId = "conformance";
        });
        await RegisterAsync(services, StorageName);
        var provider = services.BuildServiceProvider();
        foreach (var validator in provider.GetServices<IConfigurationValidator>())
        {
            validator.ValidateConfiguration();
        }

        var lifecycle = new SiloLifecycleSubject(NullLogger<SiloLifecycleSubject>.Instance);
        foreach (var participant in provider.GetServices<ILifecycleParticipant<ISiloLifecycle>>())
        {
            participant.Participate(lifecycle);
        }

        await lifecycle.OnStart(TestContext.Current.CancellationToken);
        var storage = provider.GetRequiredKeyedService<IGrainStorage>(StorageName);
        _open.Add(new OpenStorage(provider, lifecycle, storage));
        return storage;
    }

    private async Task CloseAsync(IGrainStorage storage)
    {
        var open = _open.Single(o => ReferenceEquals(o.Storage, storage));
        _open.Remove(open);
        await open.DisposeAsync();
    }

    /// <summary>Reads the state <paramref name="stateName"/> of <paramref name="id"/>.</summary>
    protected static async Task<GrainState<CounterState>> Read(IGrainStorage storage, GrainId id, string stateName = "s")
    {
        var state = new GrainState<CounterState>();
        await storage.ReadStateAsync(stateName, id, state);
        return state;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var open in _open)
        {
            await open.DisposeAsync();
        }

        _open.Clear();
        GC.SuppressFinalize(this);
    }

    private sealed record OpenStorage(ServiceProvider Provider, SiloLifecycleSubject Lifecycle, IGrainStorage Storage) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Lifecycle.OnStop(CancellationToken.None);
            await Provider.DisposeAsync();
        }
    }
}

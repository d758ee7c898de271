using Orleans.Configuration;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// The membership options OrleansShards ships, bound from <c>Shards:Membership</c>. They decide how
/// long the jobs whose grains lived on a silo that died stay unavailable: until the survivors
/// declare it dead, calls to those grains fail, and no silo activates them elsewhere.
/// </summary>
/// <remarks>
/// Measured with bench/Recovery.Bench (2 silo processes on Redis clustering, SIGKILL of the JobGrain's
/// host, time to the first lease served by the survivor): Orleans' defaults (probe timeout 5 s, 3 missed
/// probes, table refresh 60 s) took 6.7 s when the killed silo had been up for 20 s and 12.7 s when it
/// had joined seconds before; these settings 0.7 to 1.2 s (median 0.9 s), and 1.2 to 2.3 s for a silo
/// that had just joined (Orleans adapts the probe period per peer, from <see cref="ProbeTimeout"/> down
/// to half of it). A killed process refuses connections, so its probes
/// fail at once: detection costs about <see cref="NumMissedProbesLimit"/> probe periods. A probe timeout
/// of 0.5 s measured ~0.6 s, but it is not shipped: a live silo that stalls (a long GC pause, a starved
/// thread pool on a 2-core machine) would be declared dead, and lose all its activations, after about
/// a second. With 1 s it takes two unanswered probes of up to 1 s each, and with three or more silos
/// the indirect probes through another silo must fail too. <see cref="DeathVoteExpirationTimeout"/> is
/// 30 s rather than 2 min so that an old suspicion from a passing stall does not add up with a new one.
/// Calls in flight to the dead silo fail when it is declared dead, so the messaging response timeout
/// (30 s) does not decide recovery and is left at Orleans' default.
/// </remarks>
public sealed class MembershipSettings
{
    /// <summary>Leave every membership option at Orleans' defaults and ignore the settings below.</summary>
    public bool UseOrleansDefaults { get; set; }

    /// <summary>How often a silo probes each of its monitored peers, and how long it waits for an answer (Orleans: 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes in a row before a silo suspects a peer and votes it dead (Orleans: 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>How often a silo rereads the membership table, the fallback when it missed an update (Orleans: 60 s).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a death vote counts: votes of several silos must fall within it (Orleans: 2 min).</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Writes the settings into Orleans' options, unless <see cref="UseOrleansDefaults"/>.</summary>
    public void Apply(ClusterMembershipOptions options)
    {
        if (UseOrleansDefaults)
        {
            return;
        }

        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = NumMissedProbesLimit;
        options.TableRefreshTimeout = TableRefreshTimeout;
        options.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
    }
}

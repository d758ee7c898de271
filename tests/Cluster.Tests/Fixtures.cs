// One redis-server for the silo process tests (Redis clustering and storage), shared by the whole assembly.
[assembly: AssemblyFixture(typeof(OrleansShards.Tests.Servers.RedisFixture))]

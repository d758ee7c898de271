namespace OrleansShards.Providers.Tests;

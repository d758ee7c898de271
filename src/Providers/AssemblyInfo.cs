namespace OrleansShards.Providers;

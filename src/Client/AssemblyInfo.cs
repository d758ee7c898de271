namespace OrleansShards.Client;

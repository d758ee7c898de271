namespace OrleansShards.Grains;

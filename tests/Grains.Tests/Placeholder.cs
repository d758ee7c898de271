namespace OrleansShards.Grains.Tests;

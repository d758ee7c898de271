namespace OrleansShards.Silo.Tests;

namespace OrleansShards.Readers.Tests;

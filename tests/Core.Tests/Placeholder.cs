namespace OrleansShards.Core.Tests;

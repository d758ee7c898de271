namespace OrleansShards.Core;

using OrleansShards.Silo;

var app = ShardsServer.Build(args);
await app.RunAsync();

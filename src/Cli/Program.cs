using OrleansShards.Cli;

return await ShardsCommandLine.RunAsync(args);

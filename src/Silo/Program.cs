using OrleansShards.Silo.Hosting;

// `migrate`: apply the schemas the configured databases need, then exit (a Kubernetes Job runs the image so).
if (args.Length > 0 && args[0] == "migrate")
{
    var configuration = WebApplication.CreateBuilder(args[1..]).Configuration;
    return await SchemaMigrations.RunAsync(configuration, Console.Out, Console.Error);
}

var app = ShardsServer.Build(args);
await app.RunAsync();
return 0;

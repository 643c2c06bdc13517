using Countersign.Cli;

// One executable: `countersign serve` runs the server; every other command administers it.
return await CountersignCli.Create().Parse(args.Length == 0 ? ["serve"] : args).InvokeAsync();

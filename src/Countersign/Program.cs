using Countersign.Cli;

// One executable: `countersign serve` runs the server; every other command administers it.
return await CountersignCli.InvokeAsync(args.Length == 0 ? ["serve"] : args);

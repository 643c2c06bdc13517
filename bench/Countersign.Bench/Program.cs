// The benches, one executable (docs/benchmarks.md). Each compares against a baseline in the same run.
//   (no verb)  password logins and refresh rotations on PostgreSQL (LoginBench; bench/run)
//   defences   the attack simulator against the server's defences (DefencesBench; bench/defences/run)
//   fanout     the call-verification hub's fan-out (FanOutBench; bench/fanout/run)
//   words      call-verification word derivation on one core (WordsBench; bench/words/run)
//   costs      server CPU, PostgreSQL statements/rows and Redis commands per operation (CostsBench; bench/costs/run)
//   audit      audited writes/s on durable PostgreSQL, one chain vs many, one and two servers (AuditBench; bench/audit/run)
//   forwardauth /verify/{service} and /forward-auth against bare Kestrel and nginx auth_request (ForwardAuthBench; bench/forwardauth/run)
//   oidc       the OpenID Connect token endpoint: refresh and client credentials vs the API's refresh (OidcBench; bench/oidc/run)
//   admin      the admin user list with 10,000 accounts vs GET /api/me (AdminBench; bench/admin/run)
//   quadfactor logins over the quad-factor protocol, TLS handshakes, the cost split (QuadFactorBench; bench/quadfactor/run)
//   cluster    faults under a mixed load on three nodes behind nginx: node killed, Redis stopped, PostgreSQL restarted (ClusterBench; bench/cluster/run)
// Every bench takes --smoke: a run of a second or two that scripts/test makes, so none breaks unseen.
// A bench whose figures would be meaningless (failed requests, a server that did not start) prints why
// and exits 1; bad arguments exit 2.

try
{
    return args.FirstOrDefault() switch
    {
        "defences" => await DefencesBench.RunAsync(args[1..]),
        "fanout" => await FanOutBench.RunAsync(args[1..]),
        "words" => WordsBench.Run(args[1..]),
        "audit" => await AuditBench.RunAsync(args[1..]),
        "costs" => await CostsBench.RunAsync(args[1..]),
        "forwardauth" => await ForwardAuthBench.RunAsync(args[1..]),
        "quadfactor" => await QuadFactorBench.RunAsync(args[1..]),
        "oidc" => await OidcBench.RunAsync(args[1..]),
        "admin" => await AdminBench.RunAsync(args[1..]),
        "cluster" => await ClusterBench.RunAsync(args[1..]),
        _ => await LoginBench.RunAsync(args),
    };
}
catch (BenchFailedException e)
{
    Console.Out.Flush();
    Console.Error.WriteLine("bench FAILED: " + e.Message);
    return 1;
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine("bench: " + e.Message);
    return 2;
}

namespace Countersign.Samples;

internal static class Program
{
    public static async Task Main(string[] args) => await ProtectedServiceApp.Build(args).RunAsync();
}

/// <summary>
/// Deterministic mutations of a seed file, the kinds a fuzzer's havoc stage makes: bit flips, byte
/// overwrites with boundary values, block deletion/duplication/insertion, truncation, and header fields
/// (sizes, lengths) set to extremes. Shared by the fuzz test and the fuzz bench.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x40];

    public static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        var rounds = 1 + random.Next(8);
        for (var r = 0; r < rounds && data.Count > 0; r++)
        {
            var at = random.Next(data.Count);
            switch (random.Next(8))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(64)));
                    break;
                case 3:
                {
                    var length = Math.Min(data.Count - at, 1 + random.Next(256));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                }
                case 4:
                    data.InsertRange(at, Enumerable.Range(0, 1 + random.Next(32)).Select(_ => (byte)random.Next(256)));
                    break;
                case 5:
                    data.RemoveRange(at, data.Count - at); // truncation
                    break;
                case 6:
                    // A 16-bit field near the start (JPEG SOF sizes, PNG IHDR) set to an extreme.
                    var header = random.Next(Math.Min(data.Count, 700));
                    data[header] = 0xFF;
                    if (header + 1 < data.Count)
                    {
                        data[header + 1] = Interesting[random.Next(Interesting.Length)];
                    }
                    break;
                default:
                    for (var i = 0; i < 1 + random.Next(16) && at + i < data.Count; i++)
                    {
                        data[at + i] = (byte)random.Next(256);
                    }
                    break;
            }
        }
        return [.. data];
    }
}

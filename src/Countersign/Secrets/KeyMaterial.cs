using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace Countersign.Secrets;

/// <summary>
/// The keys that must stay outside the database: the master key and the password peppers. Configured
/// values win; whatever is missing comes from the key file, which is created (mode 0600) on first run.
/// </summary>
public sealed class KeyMaterial
{
    private readonly SortedDictionary<int, byte[]> _peppers = [];

    public KeyMaterial(IOptions<SecretsOptions> options)
    {
        var o = options.Value;
        var file = o.MasterKey is null || o.Peppers.Count == 0 ? LoadOrCreate(o.KeyFile) : null;
        MasterKey = o.MasterKey is not null ? Convert.FromBase64String(o.MasterKey) : Convert.FromBase64String(file!.MasterKey);
        var peppers = o.Peppers.Count > 0 ? o.Peppers : file!.Peppers;
        foreach (var (version, pepper) in peppers)
        {
            _peppers[int.Parse(version, CultureInfo.InvariantCulture)] = Convert.FromBase64String(pepper);
        }
    }

    public byte[] MasterKey { get; }

    public (int Version, byte[] Pepper) CurrentPepper => (_peppers.Keys.Last(), _peppers[_peppers.Keys.Last()]);

    public byte[]? Pepper(int version) => _peppers.GetValueOrDefault(version);

    private static KeyFile LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return JsonSerializer.Deserialize<KeyFile>(File.ReadAllText(path))
                ?? throw new InvalidOperationException($"The key file {path} is empty.");
        }
        var created = new KeyFile
        {
            MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            Peppers = new() { ["1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // Create with 0600 from the start, so the secret is never readable by others even briefly.
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, fileOptions))
        {
            JsonSerializer.Serialize(stream, created, Indented);
        }
        return created;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed class KeyFile
    {
        [JsonPropertyName("master_key")]
        public string MasterKey { get; set; } = "";

        [JsonPropertyName("peppers")]
        public Dictionary<string, string> Peppers { get; set; } = [];
    }
}

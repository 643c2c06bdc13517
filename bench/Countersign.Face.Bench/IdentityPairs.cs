using System.Globalization;
using Countersign.Face;

/// <summary>
/// Different photos of the same people: a folder of photos and a <c>pairs.csv</c>
/// (<c>file_x,file_y,same_person</c> with yes/no), as in ../shared/faces/deepface. Every photo goes through
/// <see cref="FaceEngine.Enrol"/> (the product path: decode, EXIF, detection, quality checks), every pair
/// is scored by the distance of the two templates. Shared by <c>bench/face/run evaluate</c> and the test
/// that holds the engine to the figures in docs/face.md, so both count the same way.
/// </summary>
internal sealed class IdentityPairs
{
    private IdentityPairs(string directory, List<(string A, string B, bool Same)> pairs) =>
        (Directory, Pairs) = (directory, pairs);

    /// <summary>../shared/faces/deepface relative to the repository root.</summary>
    public static string DeepFaceDir(string repositoryRoot) =>
        Path.GetFullPath(Path.Combine(repositoryRoot, "..", "shared", "faces", "deepface"));

    public string Directory { get; }
    public List<(string A, string B, bool Same)> Pairs { get; }
    public IEnumerable<string> Photos => Pairs.SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    /// <summary>Reads <c>pairs.csv</c>; throws when the folder or the file is missing (a test must fail, not skip).</summary>
    public static IdentityPairs Load(string directory)
    {
        var csv = Path.Combine(directory, "pairs.csv");
        if (!File.Exists(csv))
        {
            throw new FileNotFoundException($"the identity pairs are missing: {csv} (see docs/face.md, \"Evaluation\")", csv);
        }
        var pairs = new List<(string, string, bool)>();
        foreach (var line in File.ReadLines(csv).Skip(1).Where(l => l.Length > 0))
        {
            var cells = line.Split(',');
            pairs.Add((cells[0], cells[1], cells[2].Trim().Equals("yes", StringComparison.OrdinalIgnoreCase)));
        }
        return new IdentityPairs(directory, pairs);
    }

    /// <summary>Enrols every photo once; the outcome per file name.</summary>
    public Dictionary<string, FaceResult<FaceTemplate>> Enrol(FaceEngine engine) =>
        Photos.AsParallel().AsOrdered().Select(p => (p, engine.Enrol(File.ReadAllBytes(Path.Combine(Directory, p)))))
            .ToDictionary(x => x.p, x => x.Item2, StringComparer.Ordinal);

    /// <summary>Each pair's distance, or null when either photo did not enrol.</summary>
    public List<(string A, string B, bool Same, double? Distance)> Score(Dictionary<string, FaceResult<FaceTemplate>> templates) =>
        Pairs.ConvertAll(p => (p.A, p.B, p.Same,
            templates[p.A].Succeeded && templates[p.B].Succeeded
                ? FaceModelDistance(templates[p.A].Value!, templates[p.B].Value!)
                : (double?)null));

    private static double? FaceModelDistance(FaceTemplate a, FaceTemplate b) =>
        System.Numerics.Tensors.TensorPrimitives.Distance(a.Descriptor, b.Descriptor);

    /// <summary>
    /// Error rates at <paramref name="threshold"/>. A pair with a photo that did not enrol counts as refused:
    /// a genuine one is a false non-match (the user was turned away), an impostor one is not a false match.
    /// </summary>
    public static Rates At(List<(string A, string B, bool Same, double? Distance)> scored, double threshold)
    {
        var genuine = scored.Where(s => s.Same).ToList();
        var impostor = scored.Where(s => !s.Same).ToList();
        var falseMatches = impostor.Count(s => s.Distance <= threshold);
        var falseNonMatches = genuine.Count(s => s.Distance is null || s.Distance > threshold);
        return new Rates(threshold, falseMatches, impostor.Count, falseNonMatches, genuine.Count);
    }

    public sealed record Rates(double Threshold, int FalseMatches, int Impostors, int FalseNonMatches, int Genuines)
    {
        public double Fmr => (double)FalseMatches / Impostors;
        public double Fnmr => (double)FalseNonMatches / Genuines;
        public double Accuracy => (double)(Impostors - FalseMatches + Genuines - FalseNonMatches) / (Impostors + Genuines);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"threshold {Threshold:F2}: false matches {FalseMatches} of {Impostors} (FMR {100 * Fmr:F2}%), false non-matches {FalseNonMatches} of {Genuines} (FNMR {100 * Fnmr:F1}%)");
    }
}

using System.Globalization;
using Countersign.Face;

/// <summary>
/// The calibration: <see cref="IdentityPairs"/> on ../shared/faces/deepface through the product path,
/// failure to acquire, distance distributions, error rates per threshold, and the raw scores for the plot.
/// </summary>
internal static class PairsEvaluation
{
    private static readonly double[] Thresholds = [0.35, 0.40, 0.42, 0.45, 0.48, 0.50, 0.52, 0.55, 0.60];

    public static int Run(string directory, string? scoresOut)
    {
        var set = IdentityPairs.Load(directory);
        var engine = new FaceEngine();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var templates = set.Enrol(engine);
        Console.WriteLine($"identity pairs: {directory}: {templates.Count} photos, {set.Pairs.Count} pairs ({set.Pairs.Count(p => p.Same)} same person), enrolled in {clock.Elapsed.TotalSeconds:F1} s");
        var failed = templates.Where(t => !t.Value.Succeeded).ToList();
        foreach (var (photo, result) in failed)
        {
            Console.WriteLine($"  {photo}: {result.Error!.Value.Code()}");
        }
        Console.WriteLine($"failure to acquire: {failed.Count} of {templates.Count} photos ({100.0 * failed.Count / templates.Count:F1}%)");
        var scored = set.Score(templates);
        var genuine = scored.Where(s => s.Same && s.Distance is not null).Select(s => s.Distance!.Value).Order().ToList();
        var impostor = scored.Where(s => !s.Same && s.Distance is not null).Select(s => s.Distance!.Value).Order().ToList();
        Console.WriteLine($"genuine distance: min {genuine[0]:F3}, median {genuine[genuine.Count / 2]:F3}, max {genuine[^1]:F3} ({genuine.Count} scored)");
        Console.WriteLine($"impostor distance: min {impostor[0]:F3}, median {impostor[impostor.Count / 2]:F3}, max {impostor[^1]:F3} ({impostor.Count} scored)");
        Console.WriteLine("largest genuine distances:");
        foreach (var s in scored.Where(s => s.Same && s.Distance is not null).OrderByDescending(s => s.Distance).Take(6))
        {
            Console.WriteLine($"  {s.Distance:F3} {s.A} {s.B}");
        }
        Console.WriteLine("smallest impostor distances:");
        foreach (var s in scored.Where(s => !s.Same && s.Distance is not null).OrderBy(s => s.Distance).Take(6))
        {
            Console.WriteLine($"  {s.Distance:F3} {s.A} {s.B}");
        }
        Console.WriteLine();
        Console.WriteLine("| distance | genuine | impostor |");
        Console.WriteLine("| --- | --- | --- |");
        for (var lo = 0.0; lo < 1.0; lo += 0.05)
        {
            var hi = lo + 0.05;
            Console.WriteLine($"| {lo:F2}–{hi:F2} | {genuine.Count(d => d >= lo && d < hi)} | {impostor.Count(d => d >= lo && d < hi)} |");
        }
        Console.WriteLine();
        Console.WriteLine("| threshold | false matches (FMR) | false non-matches (FNMR, a photo that did not enrol counts as one) |");
        Console.WriteLine("| --- | --- | --- |");
        foreach (var t in Thresholds.Append(engine.Threshold).Distinct().Order())
        {
            var r = IdentityPairs.At(scored, t);
            var mark = t == engine.Threshold ? "**" : "";
            Console.WriteLine($"| {mark}{t:F2}{mark} | {r.FalseMatches} of {r.Impostors} ({100 * r.Fmr:F2}%) | {r.FalseNonMatches} of {r.Genuines} ({100 * r.Fnmr:F1}%) |");
        }
        var atDefault = IdentityPairs.At(scored, engine.Threshold);
        Console.WriteLine();
        Console.WriteLine($"at the default {atDefault}; accuracy {100 * atDefault.Accuracy:F1}%");
        AllCrossIdentityPairs(set, templates, engine.Threshold);
        HeldOutIdentities(scored, set);
        if (scoresOut is not null)
        {
            File.WriteAllLines(scoresOut, scored.Select(s => string.Create(CultureInfo.InvariantCulture,
                $"{s.A},{s.B},{(s.Same ? "yes" : "no")},{(s.Distance is { } d ? d.ToString("F6", CultureInfo.InvariantCulture) : "")}")).Prepend("file_x,file_y,same_person,distance"));
            Console.WriteLine($"scores: {scoresOut}");
        }
        return 0;
    }

    /// <summary>
    /// The people behind the photos: pairs.csv only says "same person" pair by pair, so its same-person
    /// pairs are joined into groups (each group one identity).
    /// </summary>
    private static Dictionary<string, int> Identities(IdentityPairs set)
    {
        var parent = set.Photos.ToDictionary(p => p, p => p, StringComparer.Ordinal);
        string Root(string p) => parent[p] == p ? p : parent[p] = Root(parent[p]);
        foreach (var (a, b, same) in set.Pairs.Where(p => p.Same))
        {
            parent[Root(a)] = Root(b);
        }
        var roots = parent.Keys.Select(Root).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return parent.Keys.ToDictionary(p => p, p => roots.IndexOf(Root(p)), StringComparer.Ordinal);
    }

    /// <summary>
    /// Every two photos of different people, not only the 380 pairs the file lists: more impostor
    /// comparisons (not independent ones: each photo appears in many) for the false-match side.
    /// </summary>
    private static void AllCrossIdentityPairs(IdentityPairs set, Dictionary<string, FaceResult<FaceTemplate>> templates, double threshold)
    {
        var identity = Identities(set);
        var photos = identity.Keys.Where(p => templates[p].Succeeded).Order(StringComparer.Ordinal).ToList();
        var pairs = new List<(double Distance, string A, string B)>();
        for (var i = 0; i < photos.Count; i++)
        {
            for (var j = i + 1; j < photos.Count; j++)
            {
                if (identity[photos[i]] != identity[photos[j]])
                {
                    pairs.Add((System.Numerics.Tensors.TensorPrimitives.Distance(templates[photos[i]].Value!.Descriptor, templates[photos[j]].Value!.Descriptor), photos[i], photos[j]));
                }
            }
        }
        pairs.Sort();
        Console.WriteLine();
        Console.WriteLine($"all cross-identity pairs ({identity.Values.Distinct().Count()} people): {pairs.Count} pairs; closest:");
        foreach (var (distance, a, b) in pairs.Take(4))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {distance:F3} {a} {b}"));
        }
        foreach (var t in new[] { 0.45, 0.50, 0.52, threshold }.Distinct().Order())
        {
            var matches = pairs.Count(p => p.Distance <= t);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  at {t:F2}: {matches} false matches of {pairs.Count} (FMR {100.0 * matches / pairs.Count:F3}%, 95% upper bound {100 * UpperBound(matches, pairs.Count):F2}%)"));
        }
    }

    /// <summary>Clopper–Pearson one-sided 95% upper bound on a rate seen <paramref name="k"/> times in <paramref name="n"/> trials.</summary>
    private static double UpperBound(int k, int n)
    {
        double lo = (double)k / n, hi = 1;
        for (var step = 0; step < 60; step++)
        {
            var p = (lo + hi) / 2;
            // P(X <= k) under Binomial(n, p), summed in log space.
            var cdf = 0.0;
            for (var i = 0; i <= k; i++)
            {
                cdf += Math.Exp(LogChoose(n, i) + i * Math.Log(p) + (n - i) * Math.Log(1 - p));
            }
            (lo, hi) = cdf > 0.05 ? (p, hi) : (lo, p);
        }
        return hi;
    }

    private static double LogChoose(int n, int k)
    {
        var sum = 0.0;
        for (var i = 1; i <= k; i++)
        {
            sum += Math.Log(n - k + i) - Math.Log(i);
        }
        return sum;
    }

    /// <summary>
    /// The default was chosen on the pairs it is tested on. Here each person in turn is held out: the
    /// threshold is chosen on the other people's pairs by the same rule (the largest multiple of 0.05
    /// below their closest impostor pair), then counted on the held-out person's pairs only.
    /// </summary>
    private static void HeldOutIdentities(List<(string A, string B, bool Same, double? Distance)> scored, IdentityPairs set)
    {
        var identity = Identities(set);
        int falseMatches = 0, impostors = 0, falseNonMatches = 0, genuines = 0;
        var chosen = new List<double>();
        foreach (var person in identity.Values.Distinct())
        {
            bool Involves((string A, string B, bool Same, double? Distance) s) => identity[s.A] == person || identity[s.B] == person;
            var training = scored.Where(s => !Involves(s)).ToList();
            var closest = training.Where(s => !s.Same && s.Distance is not null).Min(s => s.Distance!.Value);
            var threshold = Math.Floor((closest - 1e-9) / 0.05) * 0.05;
            chosen.Add(threshold);
            var held = IdentityPairs.At(scored.Where(Involves).ToList(), threshold);
            (falseMatches, impostors, falseNonMatches, genuines) =
                (falseMatches + held.FalseMatches, impostors + held.Impostors, falseNonMatches + held.FalseNonMatches, genuines + held.Genuines);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"held-out people ({chosen.Count} folds, thresholds chosen {chosen.Min():F2}–{chosen.Max():F2}): false matches {falseMatches} of {impostors} (an impostor pair counts in both its people's folds), false non-matches {falseNonMatches} of {genuines} ({100.0 * falseNonMatches / genuines:F1}%)"));
    }
}

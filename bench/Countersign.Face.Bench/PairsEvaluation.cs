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
        if (scoresOut is not null)
        {
            File.WriteAllLines(scoresOut, scored.Select(s => string.Create(CultureInfo.InvariantCulture,
                $"{s.A},{s.B},{(s.Same ? "yes" : "no")},{(s.Distance is { } d ? d.ToString("F6", CultureInfo.InvariantCulture) : "")}")).Prepend("file_x,file_y,same_person,distance"));
            Console.WriteLine($"scores: {scoresOut}");
        }
        return 0;
    }
}

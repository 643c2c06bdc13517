using System.Globalization;
using System.Text;
using System.Text.Json;
using Countersign.Face;
using Countersign.Face.Networks;

/// <summary>
/// Genuine vs impostor distances on the 20 faces of face-api's six sample photos. Each face is cut out
/// (its box plus 60% margin), enrolled from that crop, and compared with seven augmentations of the crop;
/// impostor pairs are every pair of different faces (full photos), and every augmentation of one face
/// against every other face's enrolment. In a crop that catches part of a neighbour, the face found
/// where the original was (moved as the augmentation moves it) is the one compared; the product path's verdict (FaceEngine.Verify) is reported beside it.
/// </summary>
internal static class Evaluation
{
    // Each augmentation with where it moves a point (to find the same face again in the result).
    private static readonly (string Name, Func<RgbImage, byte[]> Make, Func<RgbImage, (double X, double Y), (double X, double Y)> Move)[] Augmentations =
    [
        ("brightness +30%", i => Pictures.Png(Pictures.Brightness(i, 1.3)), (_, p) => p),
        ("brightness -30%", i => Pictures.Png(Pictures.Brightness(i, 0.7)), (_, p) => p),
        ("JPEG quality 40", i => Pictures.Jpeg(i, 40), (_, p) => p),
        ("rotation +10°", i => Pictures.Png(Pictures.Rotate(i, 10)), (i, p) => Rotated(i, p, 10)),
        ("rotation -10°", i => Pictures.Png(Pictures.Rotate(i, -10)), (i, p) => Rotated(i, p, -10)),
        ("mirror", i => Pictures.Png(Pictures.Mirror(i)), (i, p) => (i.Width - p.X, p.Y)),
        ("scale 0.5×", i => Pictures.Png(Pictures.Scale(i, i.Width / 2, i.Height / 2)), (_, p) => (p.X / 2, p.Y / 2)),
    ];

    /// <summary>Where Pictures.Rotate moves a point (it samples the source at the inverse rotation).</summary>
    private static (double X, double Y) Rotated(RgbImage image, (double X, double Y) p, double degrees)
    {
        var a = degrees * Math.PI / 180;
        var (cx, cy) = ((image.Width - 1) / 2.0, (image.Height - 1) / 2.0);
        var (dx, dy) = (p.X - cx, p.Y - cy);
        return (Math.Cos(a) * dx - Math.Sin(a) * dy + cx, Math.Sin(a) * dx + Math.Cos(a) * dy + cy);
    }

    public static int Run(string? extraDir)
    {
        var model = FaceModel.Shared;
        var engine = new FaceEngine();
        var faces = new List<(string Id, float[] Full, float[] Enrolled, RgbImage Crop, (double X, double Y) Centre)>();
        var photos = Enumerable.Range(1, 6).Select(n => ($"sample{n}", Pictures.Sample(n))).ToList();
        if (extraDir is not null)
        {
            photos.AddRange(Directory.GetFiles(extraDir).Where(f => f.EndsWith(".png", StringComparison.Ordinal) || f.EndsWith(".jpg", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).Select(f => (Path.GetFileNameWithoutExtension(f), File.ReadAllBytes(f))));
        }
        foreach (var (photoName, photoBytes) in photos)
        {
            var photo = Pictures.Decode(photoBytes);
            var found = model.Detect(photo, 0.5).OrderBy(d => d.X).ToList();
            for (var i = 0; i < found.Count; i++)
            {
                var d = found[i];
                var full = model.Analyse(photo, d).Descriptor;
                // A margin of 60% of the box; 40% and 100% when the detector misses the face in that framing.
                RgbImage crop = photo;
                (double X, double Y) centre = default;
                float[]? enrolled = null;
                foreach (var m in new[] { 0.6, 0.4, 1.0 })
                {
                    var margin = m * Math.Max(d.Width, d.Height);
                    var (cropX, cropY) = (Math.Max(0, (int)(d.X - margin)), Math.Max(0, (int)(d.Y - margin)));
                    crop = Pictures.Crop(photo, cropX, cropY, (int)(d.X + d.Width + margin) - cropX, (int)(d.Y + d.Height + margin) - cropY);
                    centre = (d.X + d.Width / 2 - cropX, d.Y + d.Height / 2 - cropY);
                    enrolled = Nearest(model, Pictures.Decode(Pictures.Png(crop)), centre);
                    if (enrolled is not null)
                    {
                        break;
                    }
                }
                if (enrolled is null)
                {
                    Console.WriteLine($"{photoName} face {i}: not found again in its own crop");
                    continue;
                }
                Console.WriteLine($"{photoName}/face{i}: {(int)d.Width}×{(int)d.Height} px, crop {crop.Width}×{crop.Height}, enrolled vs full photo {FaceModel.Distance(full, enrolled):F3}");
                faces.Add(($"{photoName}/face{i} ({(int)d.Width}×{(int)d.Height} px)", full, enrolled, crop, centre));
            }
        }
        Console.WriteLine($"faces: {faces.Count} from {photos.Count} photos");

        var genuine = new List<(string Face, string Augmentation, double? Distance, string Engine)>();
        var impostor = new List<double>();
        for (var a = 0; a < faces.Count; a++)
        {
            for (var b = a + 1; b < faces.Count; b++)
            {
                impostor.Add(FaceModel.Distance(faces[a].Full, faces[b].Full));
            }
        }
        var impostorPhotoPairs = impostor.Count;
        foreach (var face in faces)
        {
            var template = new FaceTemplate(FaceEngine.ModelId, face.Enrolled);
            foreach (var (name, make, move) in Augmentations)
            {
                var bytes = make(face.Crop);
                var probe = Nearest(model, Pictures.Decode(bytes), move(face.Crop, face.Centre));
                var verdict = engine.Verify(template, bytes);
                genuine.Add((face.Id, name, probe is null ? null : FaceModel.Distance(face.Enrolled, probe),
                    verdict.Succeeded ? $"{verdict.Value.Distance:F3}" : verdict.Error!.Value.Code()));
                if (probe is not null)
                {
                    foreach (var other in faces.Where(o => o.Id != face.Id))
                    {
                        impostor.Add(FaceModel.Distance(other.Enrolled, probe));
                    }
                }
            }
        }

        var found2 = genuine.Where(g => g.Distance is not null).Select(g => g.Distance!.Value).ToList();
        var notFound = genuine.Count - found2.Count;
        Console.WriteLine($"genuine pairs: {genuine.Count} ({notFound} where no face was found in the augmented crop)");
        Console.WriteLine($"impostor pairs: {impostor.Count} ({impostorPhotoPairs} between the faces of the full photos, the rest augmented probe vs other enrolments)");
        Console.WriteLine($"genuine distance: min {found2.Min():F3}, median {Median(found2):F3}, max {found2.Max():F3}");
        Console.WriteLine($"impostor distance: min {impostor.Min():F3}, median {Median(impostor):F3}, max {impostor.Max():F3}; " +
            $"photo pairs only: min {impostor.Take(impostorPhotoPairs).Min():F3}");

        Console.WriteLine();
        Console.WriteLine("| distance | genuine | impostor |");
        Console.WriteLine("| --- | --- | --- |");
        for (var lo = 0.0; lo < 1.2; lo += 0.05)
        {
            var hi = lo + 0.05;
            Console.WriteLine($"| {lo:F2}–{hi:F2} | {found2.Count(d => d >= lo && d < hi)} | {impostor.Count(d => d >= lo && d < hi)} |");
        }

        Console.WriteLine();
        Console.WriteLine("| threshold | false matches (FMR) | false non-matches (FNMR, no face counts as one) |");
        Console.WriteLine("| --- | --- | --- |");
        foreach (var t in new[] { 0.35, 0.40, 0.42, 0.45, 0.48, 0.50, 0.55, 0.60 })
        {
            var fm = impostor.Count(d => d <= t);
            var fnm = found2.Count(d => d > t) + notFound;
            Console.WriteLine($"| {t:F2} | {fm} of {impostor.Count} ({100.0 * fm / impostor.Count:F2}%) | {fnm} of {genuine.Count} ({100.0 * fnm / genuine.Count:F1}%) |");
        }

        Console.WriteLine();
        Console.WriteLine("| augmentation | median | max | not found |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (var group in genuine.GroupBy(g => g.Augmentation))
        {
            var d = group.Where(g => g.Distance is not null).Select(g => g.Distance!.Value).ToList();
            Console.WriteLine($"| {group.Key} | {(d.Count > 0 ? Median(d).ToString("F3", CultureInfo.InvariantCulture) : "-")} | {(d.Count > 0 ? d.Max().ToString("F3", CultureInfo.InvariantCulture) : "-")} | {group.Count(g => g.Distance is null)} |");
        }

        Console.WriteLine();
        Console.WriteLine("product path (FaceEngine.Verify on the augmented crop bytes), outcomes other than a distance:");
        foreach (var g in genuine.GroupBy(g => double.TryParse(g.Engine, CultureInfo.InvariantCulture, out _) ? "distance" : g.Engine))
        {
            Console.WriteLine($"  {g.Key}: {g.Count()}");
        }
        var worst = genuine.Where(g => g.Distance is not null).OrderByDescending(g => g.Distance).Take(8);
        Console.WriteLine("largest genuine distances:");
        foreach (var g in worst)
        {
            Console.WriteLine($"  {g.Distance:F3} {g.Face} {g.Augmentation} (engine: {g.Engine})");
        }
        var json = JsonSerializer.Serialize(new { genuine = genuine.Select(g => new { g.Face, g.Augmentation, g.Distance, g.Engine }), impostor });
        var path = Path.Combine(Path.GetTempPath(), "face-evaluation.json");
        File.WriteAllText(path, json, new UTF8Encoding(false));
        Console.WriteLine($"raw distances: {path}");
        return 0;
    }

    /// <summary>The descriptor of the detected face whose box centre is nearest <paramref name="centre"/>, or null.</summary>
    private static float[]? Nearest(FaceModel model, RgbImage image, (double X, double Y) centre)
    {
        // The engine's cascade: 416, then 224 and 160 when nothing was found.
        var found = model.Detect(image, 0.5);
        foreach (var size in new[] { 224, 160 })
        {
            found = found.Count == 0 ? model.Detect(image, 0.5, size) : found;
        }
        if (found.Count == 0)
        {
            return null;
        }
        var d = found.MinBy(d => Math.Pow(d.X + d.Width / 2 - centre.X, 2) + Math.Pow(d.Y + d.Height / 2 - centre.Y, 2));
        if (Math.Abs(d.X + d.Width / 2 - centre.X) > d.Width / 2 || Math.Abs(d.Y + d.Height / 2 - centre.Y) > d.Height / 2)
        {
            return null; // only other faces were found
        }
        return model.Analyse(image, d).Descriptor;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

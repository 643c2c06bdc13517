using Countersign.Face;

internal static class Probe
{
    public static int Run()
    {
        var model = FaceModel.Shared;
        foreach (var n in new[] { 1, 2, 3, 4, 5, 6 })
        {
            var photo = Pictures.Decode(Pictures.Sample(n));
            var found = model.Detect(photo, 0.5).OrderBy(d => d.X).ToList();
            foreach (var d in found)
            {
                var line = $"sample{n} {d.X:F0},{d.Y:F0} {d.Width:F0}x{d.Height:F0} s={d.Score:F2}:";
                foreach (var m in new[] { 0.2, 0.4, 0.6 })
                {
                    var margin = m * Math.Max(d.Width, d.Height);
                    var crop = Pictures.Crop(photo, (int)(d.X - margin), (int)(d.Y - margin), (int)(d.Width + 2 * margin), (int)(d.Height + 2 * margin));
                    line += $" m{m}:";
                    foreach (var size in new[] { 160, 224, 320, 416, 608 })
                    {
                        var again = model.Detect(crop, 0.5, size);
                        line += $"{size}:{again.Count} ";
                    }
                }
                Console.WriteLine(line);
            }
        }
        return 0;
    }

    /// <summary>Per photo of a pairs folder: what the detector finds at each input size, with and without a border.</summary>
    public static int Pairs(string directory)
    {
        var model = FaceModel.Shared;
        foreach (var file in IdentityPairs.Load(directory).Photos)
        {
            var image = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(directory, file))).Image!;
            var line = $"{file} {image.Width}x{image.Height}:";
            foreach (var pad in new[] { 0.0, 0.25, 0.5 })
            {
                var border = (int)(pad * Math.Max(image.Width, image.Height));
                var padded = pad == 0 ? image : Pad(image, border);
                line += $" pad{pad}:";
                foreach (var size in new[] { 160, 224, 320, 416, 608 })
                {
                    var found = model.Detect(padded, 0.5, size);
                    var big = found.Count == 0 ? "" : $"/{(int)found.Max(f => Math.Min(f.Width, f.Height))}px{found.Max(f => f.Score):F2}";
                    line += $"{size}:{found.Count}{big} ";
                }
            }
            Console.WriteLine(line);
        }
        return 0;
    }

    public static RgbImage Pad(RgbImage image, int border)
    {
        var w = image.Width + 2 * border;
        var h = image.Height + 2 * border;
        var dst = new byte[w * h * 3];
        for (var y = 0; y < image.Height; y++)
        {
            Array.Copy(image.Pixels, y * image.Width * 3, dst, ((y + border) * w + border) * 3, image.Width * 3);
        }
        return new RgbImage(w, h, dst);
    }

    /// <summary>
    /// Tight crops of every face in a pairs folder (the box itself, the box + 10%, that scaled to 112×112,
    /// and the box + 10% at 1.5× its height — a frame-filling selfie): how often each detection strategy finds a face.
    /// </summary>
    public static int Crops(string directory)
    {
        var model = FaceModel.Shared;
        var strategies = new (string Name, Func<RgbImage, int> Count)[]
        {
            ("cascade 416/224/160", i => Cascade(model, i, [416, 224, 160])),
            ("pad 25% + 416", i => Cascade(model, Pad(i, Math.Max(i.Width, i.Height) / 4), [416])),
            ("pad 25% + 416/224", i => Cascade(model, Pad(i, Math.Max(i.Width, i.Height) / 4), [416, 224])),
            ("pad 50% + 416", i => Cascade(model, Pad(i, Math.Max(i.Width, i.Height) / 2), [416])),
            ("416, then pad 25% + 416/224", i => Cascade(model, i, [416]) > 0 ? 1 : Cascade(model, Pad(i, Math.Max(i.Width, i.Height) / 4), [416, 224])),
            ("416, then pad 25% + 416/224/160", i => Cascade(model, i, [416]) > 0 ? 1 : Cascade(model, Pad(i, Math.Max(i.Width, i.Height) / 4), [416, 224, 160])),
        };
        var kinds = new[] { "box", "box+10%", "box+10% 112px", "box+10% tall", "box+40%" };
        var hits = new int[strategies.Length, kinds.Length];
        var total = 0;
        var engine = new FaceEngine();
        var enrolled = new int[kinds.Length];
        var distances = kinds.Select(_ => new List<double>()).ToArray();
        foreach (var file in IdentityPairs.Load(directory).Photos)
        {
            var image = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(directory, file))).Image;
            if (image is null)
            {
                continue;
            }
            var found = model.Detect(image, 0.5);
            if (found.Count == 0)
            {
                found = model.Detect(image, 0.5, 224);
            }
            if (found.Count == 0)
            {
                Console.WriteLine($"{file}: no face in the full photo");
                continue;
            }
            var d = found.MaxBy(f => f.Width * f.Height);
            total++;
            var crops = new RgbImage[kinds.Length];
            RgbImage Cut(double mx, double myTop, double myBottom) => Pictures.Crop(image, (int)(d.X - mx * d.Width), (int)(d.Y - myTop * d.Height),
                (int)(d.Width * (1 + 2 * mx)), (int)(d.Height * (1 + myTop + myBottom)));
            crops[0] = Cut(0, 0, 0);
            crops[1] = Cut(0.1, 0.1, 0.1);
            crops[2] = Pictures.Scale(crops[1], 112, 112);
            crops[3] = Cut(0.1, 0.3, 0.3);
            crops[4] = Cut(0.4, 0.4, 0.4);
            var full = model.Analyse(image, d).Descriptor;
            var enrolLine = "";
            for (var k = 0; k < kinds.Length; k++)
            {
                var c = crops[k].Width > 800 ? Pictures.Scale(crops[k], 800, 800 * crops[k].Height / crops[k].Width) : crops[k];
                var r = engine.Enrol(Pictures.Png(c));
                if (!r.Succeeded)
                {
                    var again = Pictures.Decode(Pictures.Png(c));
                    foreach (var size in new[] { 416, 224, 160 })
                    {
                        var fs = model.Detect(again, 0.5, size);
                        enrolLine += $" [{c.Width}x{c.Height} at {size}: {string.Join(" ", fs.Select(f => $"{f.X:F0},{f.Y:F0} {f.Width:F0}x{f.Height:F0} {f.Score:F2}"))}]";
                        if (fs.Count > 0)
                        {
                            break;
                        }
                    }
                }
                enrolLine += r.Succeeded ? $" {FaceModel.Distance(full, r.Value.Descriptor):F2}" : " " + r.Error!.Value.Code();
                if (r.Succeeded)
                {
                    enrolled[k]++;
                    distances[k].Add(FaceModel.Distance(full, r.Value.Descriptor));
                }
            }
            Console.WriteLine($"{file} enrol:{enrolLine}");
            var line = $"{file} face {(int)d.Width}px:";
            for (var s = 0; s < strategies.Length; s++)
            {
                line += " ";
                for (var k = 0; k < kinds.Length; k++)
                {
                    var n = strategies[s].Count(crops[k]);
                    hits[s, k] += n > 0 ? 1 : 0;
                    line += n > 0 ? "+" : "-";
                }
            }
            Console.WriteLine(line);
        }
        Console.WriteLine($"faces: {total}; found per strategy ({string.Join(", ", kinds)})");
        for (var s = 0; s < strategies.Length; s++)
        {
            Console.WriteLine($"  {strategies[s].Name,-34} {string.Join("  ", Enumerable.Range(0, kinds.Length).Select(k => $"{hits[s, k],2}/{total}"))}");
        }
        Console.WriteLine($"  {"FaceEngine.Enrol",-34} {string.Join("  ", Enumerable.Range(0, kinds.Length).Select(k => $"{enrolled[k],2}/{total}"))}");
        Console.WriteLine($"  {"median/max distance to full photo",-34} {string.Join("  ", distances.Select(d => d.Count == 0 ? "-" : $"{d.Order().ElementAt(d.Count / 2):F2}/{d.Max():F2}"))}");
        return 0;
    }

    private static int Cascade(FaceModel model, RgbImage image, int[] sizes)
    {
        foreach (var size in sizes)
        {
            var n = model.Detect(image, 0.5, size).Count;
            if (n > 0)
            {
                return n;
            }
        }
        return 0;
    }

    /// <summary>Brightness and sharpness of every face in a pairs folder, as it is and degraded.</summary>
    public static int Quality(string directory)
    {
        var engine = new FaceEngine();
        var rows = new List<(string File, FaceQuality[] Q)>();
        foreach (var file in IdentityPairs.Load(directory).Photos)
        {
            var image = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(directory, file))).Image!;
            var (face, error) = engine.Analyse(image);
            if (face is null)
            {
                Console.WriteLine($"{file}: {error}");
                continue;
            }
            var size = face.Aligned.Width;
            var q = new[]
            {
                image,
                Pictures.Blur(image, Math.Max(1, size / 50)),
                Pictures.Blur(image, Math.Max(1, size / 25)),
                Pictures.Blur(image, Math.Max(1, size / 12)),
                Pictures.Brightness(image, 0.5),
                Pictures.Brightness(image, 0.3),
                Pictures.Brightness(image, 0.15),
            }.Select(i => FaceQuality.Measure(i, face.Aligned)).ToArray();
            rows.Add((file, q));
            Console.WriteLine($"{file} face {size}px: " + string.Join("  ", q.Select(x => $"{x.Brightness:F0}/{x.Sharpness:F3}")));
        }
        var names = new[] { "as is", "blur r=size/50", "blur size/25", "blur size/12", "×0.5", "×0.3", "×0.15" };
        for (var k = 0; k < names.Length; k++)
        {
            var b = rows.Select(r => r.Q[k].Brightness).Order().ToList();
            var s = rows.Select(r => r.Q[k].Sharpness).Order().ToList();
            Console.WriteLine($"{names[k],-16} brightness min {b[0]:F0} median {b[b.Count / 2]:F0} max {b[^1]:F0}; sharpness min {s[0]:F4} median {s[s.Count / 2]:F4} max {s[^1]:F4}");
        }
        return 0;
    }
}

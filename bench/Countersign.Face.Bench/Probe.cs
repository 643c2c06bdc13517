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
}

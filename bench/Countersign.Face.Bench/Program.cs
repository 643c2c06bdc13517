using System.Diagnostics;
using System.Globalization;
using System.Text;
using Countersign.Face;
using Countersign.Face.Networks;

// The face engine's figures for docs/face.md (run through bench/face/run, pinned to one core):
//   speed     model load, enrol and verify of a 1280×960 JPEG, with the stages broken down
//   evaluate  genuine pairs under augmentation vs impostor pairs on the face-api sample photos
//   fuzz      N mutated JPEG/PNG files through FaceEngine.Enrol: crashes, slowest file, memory
// Usage: dotnet Countersign.Face.Bench.dll speed [--iterations 20] | evaluate [--extra DIR] | fuzz [--files 10000] [--seed 1]

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var mode = args.FirstOrDefault() ?? "speed";
int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
Console.WriteLine($"machine: {Environment.ProcessorCount} cores visible, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
    $"Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, {DateTime.UtcNow:yyyy-MM-dd}");
return mode switch
{
    "speed" => Speed(Option("--iterations", 20)),
    "evaluate" => Evaluation.Run(Array.IndexOf(args, "--extra") is var e and >= 0 && e + 1 < args.Length ? args[e + 1] : null),
    "probe" => Probe.Run(),
    "pairs" => PairsEvaluation.Run(args[1], args.Length > 2 ? args[2] : null),
    "probe-pairs" => Probe.Pairs(args[1]),
    "probe-crops" => Probe.Crops(args[1]),
    "probe-quality" => Probe.Quality(args[1]),
    "one" => One(args[1]),
    "fuzz" => Fuzz(Option("--files", 10_000), Option("--seed", 1)),
    _ => Usage(),
};

static int One(string path)
{
    var bytes = File.ReadAllBytes(path);
    var c = Stopwatch.StartNew();
    var (image, error) = ImageDecoder.Decode(bytes);
    Console.WriteLine($"decode: {(image is null ? error.ToString() : $"{image.Width}×{image.Height}")} in {c.Elapsed.TotalMilliseconds:F0} ms");
    c.Restart();
    var result = new FaceEngine().Enrol(bytes);
    Console.WriteLine($"enrol: {(result.Succeeded ? "ok" : result.Error.ToString())} in {c.Elapsed.TotalMilliseconds:F0} ms");
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Countersign.Face.Bench speed [--iterations N] | evaluate [--extra DIR] | fuzz [--files N] [--seed S]");
    return 2;
}

static int Speed(int iterations)
{
    var clock = Stopwatch.StartNew();
    var model = FaceModel.Load();
    var firstLoad = clock.Elapsed.TotalMilliseconds;
    var loads = Enumerable.Range(0, 5).Select(_ => { var c = Stopwatch.StartNew(); FaceModel.Load(); return c.Elapsed.TotalMilliseconds; }).ToList();
    Console.WriteLine($"model load: first (cold, includes JIT) {firstLoad:F0} ms; again: median {Median(loads):F0} ms");

    // A 1280×960 photo with one face: a 4:3 cut of sample2 (1920×1367) around its one confident face,
    // scaled to 1280×960, JPEG quality 90 (the whole of sample2 holds a second, fainter face).
    var sample = Pictures.Decode(Pictures.Sample(2));
    var face = model.Detect(sample, 0.5)[0];
    var cropW = 1000;
    var cropX = Math.Clamp((int)(face.X + face.Width / 2) - cropW / 2, 0, sample.Width - cropW);
    var cropY = Math.Clamp((int)(face.Y + face.Height / 2) - cropW * 3 / 8, 0, sample.Height - cropW * 3 / 4);
    var photo = Pictures.Scale(Pictures.Crop(sample, cropX, cropY, cropW, cropW * 3 / 4), 1280, 960);
    var jpeg = Pictures.Jpeg(photo, 90);
    var other = Pictures.Jpeg(Pictures.Mirror(photo), 90);
    Console.WriteLine($"input: 1280×960 JPEG, {jpeg.Length / 1024} KiB, one face");

    var engine = new FaceEngine();
    var enrolled = engine.Enrol(jpeg);
    if (!enrolled.Succeeded)
    {
        Console.Error.WriteLine($"enrol failed: {enrolled.Error}");
        return 1;
    }
    for (var i = 0; i < 3; i++)
    {
        engine.Enrol(jpeg);
        engine.Verify(enrolled.Value, other);
    }

    var enrol = new List<double>();
    var verify = new List<double>();
    var decode = new List<double>();
    var detect = new List<double>();
    var landmarks = new List<double>();
    var describe = new List<double>();
    var allocated = new List<long>();
    for (var i = 0; i < iterations; i++)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var c = Stopwatch.StartNew();
        engine.Enrol(jpeg);
        enrol.Add(c.Elapsed.TotalMilliseconds);
        allocated.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        c.Restart();
        var v = engine.Verify(enrolled.Value, other);
        verify.Add(c.Elapsed.TotalMilliseconds);
        if (!v.Succeeded)
        {
            Console.Error.WriteLine($"verify failed: {v.Error}");
            return 1;
        }

        // The same work stage by stage.
        c.Restart();
        var image = ImageDecoder.Decode(jpeg).Image!;
        decode.Add(c.Elapsed.TotalMilliseconds);
        c.Restart();
        var faces = model.Detect(image, 0.5);
        detect.Add(c.Elapsed.TotalMilliseconds);
        c.Restart();
        var points = model.Landmarks.Detect(image, faces[0]);
        landmarks.Add(c.Elapsed.TotalMilliseconds);
        c.Restart();
        var (x, y, size) = RecognitionNet.AlignedBox(points);
        var crop = LandmarkNet.ClipAndFloor(x, y, size, size, image.Width, image.Height);
        model.Recognition.Describe(image, crop, new float[128]);
        describe.Add(c.Elapsed.TotalMilliseconds);
    }
    Console.WriteLine($"iterations: {iterations} (after 3 warm-up runs), times in ms, median [min–max]");
    Console.WriteLine($"enrol   {Median(enrol),6:F1} [{enrol.Min():F1}–{enrol.Max():F1}]   allocated per enrol {Median(allocated.Select(a => (double)a).ToList()) / 1048576:F1} MiB");
    Console.WriteLine($"verify  {Median(verify),6:F1} [{verify.Min():F1}–{verify.Max():F1}]");
    Console.WriteLine($"  decode JPEG     {Median(decode),6:F1}");
    Console.WriteLine($"  detect (416)    {Median(detect),6:F1}");
    Console.WriteLine($"  landmarks (112) {Median(landmarks),6:F1}");
    Console.WriteLine($"  descriptor (150){Median(describe),6:F1}");
    return 0;
}

static int Fuzz(int files, int seed)
{
    var seeds = FuzzSeeds();
    var engine = new FaceEngine();
    engine.Enrol(seeds[0]);
    var random = new Random(seed);
    var outcomes = new Dictionary<string, int>();
    var slowest = 0.0;
    var total = Stopwatch.StartNew();
    long peakWorkingSet = 0;
    var baseline = Process.GetCurrentProcess().WorkingSet64;
    // A watchdog saves any file that runs past 2 s, so a hang leaves its input behind.
    byte[]? current = null;
    var currentIndex = -1;
    var currentStart = Stopwatch.GetTimestamp();
    var watchdog = new Thread(() =>
    {
        var saved = -1;
        while (true)
        {
            Thread.Sleep(250);
            var index = Volatile.Read(ref currentIndex);
            if (index >= 0 && index != saved && Stopwatch.GetElapsedTime(Volatile.Read(ref currentStart)).TotalSeconds > 2)
            {
                saved = index;
                File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"fuzz-slow-{index}.bin"), Volatile.Read(ref current)!);
                Console.WriteLine($"file {index} is past 2 s: saved as {Path.GetTempPath()}fuzz-slow-{index}.bin");
            }
        }
    }) { IsBackground = true };
    watchdog.Start();
    for (var i = 0; i < files; i++)
    {
        var input = Mutator.Mutate(seeds[i % seeds.Count], random);
        Volatile.Write(ref current, input);
        Volatile.Write(ref currentStart, Stopwatch.GetTimestamp());
        Volatile.Write(ref currentIndex, i);
        if (i % 1000 == 0)
        {
            Console.WriteLine($"  {i} files, {total.Elapsed.TotalSeconds:F0} s");
        }
        var c = Stopwatch.StartNew();
        string outcome;
        try
        {
            var result = engine.Enrol(input);
            outcome = result.Succeeded ? "enrolled" : result.Error!.Value.Code();
        }
        catch (Exception e)
        {
            outcome = "EXCEPTION " + e.GetType().Name;
            File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"fuzz-crash-{i}.bin"), input);
        }
        slowest = Math.Max(slowest, c.Elapsed.TotalMilliseconds);
        outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        if (i % 100 == 0)
        {
            peakWorkingSet = Math.Max(peakWorkingSet, Process.GetCurrentProcess().WorkingSet64);
        }
    }
    peakWorkingSet = Math.Max(peakWorkingSet, Process.GetCurrentProcess().WorkingSet64);
    Console.WriteLine($"fuzz: {files} mutated files from {seeds.Count} seeds (JPEG and PNG), seed {seed}, {total.Elapsed.TotalSeconds:F0} s");
    Console.WriteLine($"slowest file: {slowest:F0} ms; working set: {baseline / 1048576} MiB at start, peak {peakWorkingSet / 1048576} MiB; GC heap now {GC.GetTotalMemory(true) / 1048576} MiB");
    foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
    {
        Console.WriteLine($"  {outcome,-24} {count}");
    }
    return outcomes.Keys.Any(k => k.StartsWith("EXCEPTION", StringComparison.Ordinal)) || slowest > 2000 ? 1 : 0;
}

static List<byte[]> FuzzSeeds()
{
    // Face crops of two sizes, as baseline JPEG, progressive-free JPEG at low quality, and PNG.
    var face = Pictures.Decode(Pictures.Sample(2));
    var crop = Pictures.Crop(face, 700, 150, 600, 600);
    var small = Pictures.Scale(crop, 160, 160);
    var medium = Pictures.Scale(crop, 320, 320);
    var sampleJpeg = Pictures.Sample(1);
    return [Pictures.Jpeg(medium, 85), Pictures.Png(small), Pictures.Jpeg(small, 40), Pictures.Png(medium), Pictures.Jpeg(medium, 60), sampleJpeg[..Math.Min(sampleJpeg.Length, 400_000)]];
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

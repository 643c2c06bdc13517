using System.Diagnostics;
using Xunit.Abstractions;

namespace Countersign.Face.Tests;

/// <summary>
/// 10,000 mutated JPEG and PNG files through the decoder (the part that reads hostile bytes): no exception
/// escapes, none takes 2 s, and memory stays bounded. A mutant that still decodes also goes through the
/// whole engine one time in twenty. bench/face/run fuzz runs the same through FaceEngine.Enrol for every file.
/// </summary>
/// <remarks>Runs alone (after the parallel tests): its 2 s limit is about the file, not about sharing two cores.</remarks>
[Collection(nameof(FuzzTests))]
public class FuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Ten_thousand_mutated_images_neither_crash_nor_hang_nor_grow_memory()
    {
        var crop = FaceEngineTests.FaceCrop;
        var small = FaceEngineTests.Shrink(crop, 96, 96);
        var medium = FaceEngineTests.Shrink(crop, 200, 200);
        byte[][] seeds = [Fixtures.Encode(small, 85), Fixtures.Encode(small), Fixtures.Encode(medium, 40), Fixtures.Encode(medium),
            ExifOrientationTests.WithJpegOrientation(Fixtures.Encode(small, 70), 6)];
        var engine = new FaceEngine();
        var random = new Random(20261123);
        var outcomes = new Dictionary<string, int>();
        var slowest = TimeSpan.Zero;
        // Warm: the model and the pooled buffers of one full pass are not growth.
        Assert.True(engine.Enrol(Fixtures.Encode(crop)).Succeeded);
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(true);
        var peakHeap = heapBefore;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 10_000; i++)
        {
            var input = Mutator.Mutate(seeds[i % seeds.Length], random);
            var started = clock.Elapsed;
            var (image, error) = ImageDecoder.Decode(input);
            var outcome = image is null ? error!.Value.Code() : "decoded";
            if (image is not null && i % 20 == 0)
            {
                var result = engine.Enrol(input);
                outcome = result.Succeeded ? "enrolled" : "decoded, " + result.Error!.Value.Code();
            }
            var took = clock.Elapsed - started;
            slowest = took > slowest ? took : slowest;
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (i % 500 == 0)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
            }
        }
        GC.Collect();
        var heapAfter = GC.GetTotalMemory(true);
        output.WriteLine($"10000 files in {clock.Elapsed.TotalSeconds:F1} s, slowest {slowest.TotalMilliseconds:F0} ms, " +
            $"heap {heapBefore / 1048576.0:F1} → {heapAfter / 1048576.0:F1} MiB (peak sampled {peakHeap / 1048576.0:F1} MiB)");
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
        {
            output.WriteLine($"  {outcome}: {count}");
        }
        Assert.True(slowest < TimeSpan.FromSeconds(2), $"slowest file took {slowest.TotalMilliseconds:F0} ms");
        Assert.True(heapAfter - heapBefore < 64 * 1048576, $"heap grew by {(heapAfter - heapBefore) / 1048576} MiB");
        // Transient garbage is bounded by the 20-megapixel cap (a 20 MP picture is 80 MB as RGBA, 60 MB as RGB).
        Assert.True(peakHeap < 1536L * 1048576, $"heap peaked at {peakHeap / 1048576} MiB");
        Assert.True(outcomes.GetValueOrDefault("not_an_image") > 1000, "the mutations should break most files");
        Assert.True(outcomes.Keys.Any(k => k != "not_an_image"), "some mutants should still decode");
    }
}

[CollectionDefinition(nameof(FuzzTests), DisableParallelization = true)]
public sealed class FuzzCollection;

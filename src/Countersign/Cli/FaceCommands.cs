using System.CommandLine;
using System.Text.Json;
using Countersign.Face;

namespace Countersign.Cli;

/// <summary>
/// <c>countersign face compare IMAGE_A IMAGE_B</c>: the face engine for operators and scripts. Needs no
/// configuration or database: it runs the same in-process engine the server uses.
/// </summary>
internal static class FaceCommands
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var imageA = new Argument<FileInfo>("IMAGE_A") { Description = "A JPEG, PNG or WebP with exactly one face, enrolled (so checked for size, blur and light)." };
        var imageB = new Argument<FileInfo>("IMAGE_B") { Description = "Another JPEG, PNG or WebP with exactly one face." };
        var threshold = new Option<double?>("--threshold")
        {
            Description = $"Match when the descriptor distance is at most this (default {FaceEngine.DefaultThreshold}, calibrated in docs/face.md).",
        };
        var compare = new Command("compare", """
            Compare the faces in two pictures. Prints one JSON object: {"match", "distance", "threshold"} and exits 0
            when they match, 1 when they do not; or {"error"} (not_an_image, image_too_large, no_face, multiple_faces,
            face_too_small, face_too_blurred, face_too_dark, unreadable_file) and exits 2.
            """) { imageA, imageB, threshold };
        compare.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            byte[] a, b;
            try
            {
                a = File.ReadAllBytes(p.GetRequiredValue(imageA).FullName);
                b = File.ReadAllBytes(p.GetRequiredValue(imageB).FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output.WriteLine(JsonSerializer.Serialize(new { error = "unreadable_file", message = e.Message }, Json));
                return 2;
            }
            FaceEngine engine;
            try
            {
                engine = new FaceEngine(new FaceOptions { Threshold = p.GetValue(threshold) ?? FaceEngine.DefaultThreshold });
            }
            catch (ArgumentOutOfRangeException e)
            {
                p.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var result = engine.Compare(a, b);
            if (!result.Succeeded)
            {
                output.WriteLine(JsonSerializer.Serialize(new { error = result.Error!.Value.Code() }, Json));
                return 2;
            }
            var v = result.Value;
            output.WriteLine(JsonSerializer.Serialize(new { match = v.Match, distance = Math.Round(v.Distance, 4), threshold = v.Threshold }, Json));
            return v.Match ? 0 : 1;
        });
        return new Command("face", """
            Face verification in-process (tiny face detector, 68 landmarks, dlib ResNet descriptor). It does no liveness
            detection: a face is never a factor on its own (NIST SP 800-63B §3.2.3).
            """) { compare };
    }
}

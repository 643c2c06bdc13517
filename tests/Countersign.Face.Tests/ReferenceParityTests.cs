using System.Text.Json;
using Xunit.Abstractions;

namespace Countersign.Face.Tests;

/// <summary>
/// The C# networks against @vladmandic/face-api itself (TensorFlow.js, WASM backend) on the same PNG pixels:
/// Fixtures/reference/reference.json is written by Reference/make-reference.mjs.
/// </summary>
public class ReferenceParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        foreach (var image in Fixtures.Reference.GetProperty("images").EnumerateArray())
        {
            data.Add(image.GetProperty("file").GetString()!);
        }
        return data;
    }

    private static JsonElement Expected(string file) =>
        Fixtures.Reference.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("file").GetString() == file);

    [Theory]
    [MemberData(nameof(Images))]
    public void Detections_landmarks_and_descriptors_match_the_reference(string file)
    {
        var expected = Expected(file);
        var image = Fixtures.Decode(Fixtures.Read("reference", file));
        Assert.Equal(expected.GetProperty("width").GetInt32(), image.Width);
        Assert.Equal(expected.GetProperty("height").GetInt32(), image.Height);

        var detections = FaceModel.Shared.Detect(image, 0.5);
        var faces = expected.GetProperty("faces").EnumerateArray().ToList();
        Assert.Equal(faces.Count, detections.Count);
        foreach (var reference in faces)
        {
            var box = reference.GetProperty("box");
            var (x, y, w, h) = (box.GetProperty("x").GetDouble(), box.GetProperty("y").GetDouble(), box.GetProperty("width").GetDouble(), box.GetProperty("height").GetDouble());
            // Pair by position: the closest detection must be within 2 px on every edge.
            var d = detections.MinBy(d => Math.Abs(d.X - x) + Math.Abs(d.Y - y));
            Assert.InRange(Math.Abs(d.X - x), 0, 2);
            Assert.InRange(Math.Abs(d.Y - y), 0, 2);
            Assert.InRange(Math.Abs(d.Width - w), 0, 2);
            Assert.InRange(Math.Abs(d.Height - h), 0, 2);
            Assert.InRange(Math.Abs(d.Score - reference.GetProperty("score").GetDouble()), 0, 1e-3);

            var face = FaceModel.Shared.Analyse(image, d);
            var landmarks = reference.GetProperty("landmarks").EnumerateArray().ToList();
            Assert.Equal(68, landmarks.Count);
            var worstLandmark = landmarks.Select((p, i) => Math.Max(
                Math.Abs(p[0].GetDouble() - face.Landmarks[i].X), Math.Abs(p[1].GetDouble() - face.Landmarks[i].Y))).Max();
            Assert.InRange(worstLandmark, 0, 2);

            var descriptor = reference.GetProperty("descriptor").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(128, descriptor.Length);
            var worst = descriptor.Select((v, i) => Math.Abs(v - face.Descriptor[i])).Max();
            output.WriteLine($"{file}: box Δ {Math.Abs(d.X - x):F4},{Math.Abs(d.Y - y):F4},{Math.Abs(d.Width - w):F4},{Math.Abs(d.Height - h):F4} px; landmarks max Δ {worstLandmark:F4} px; descriptor max-abs-diff {worst:E2}");
            Assert.True(worst <= 1e-3, $"{file}: descriptor max-abs-diff {worst:E2} (landmarks {worstLandmark:F4} px)");
        }
    }
}

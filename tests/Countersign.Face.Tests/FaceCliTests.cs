using System.CommandLine;
using System.Text.Json;
using Countersign.Cli;

namespace Countersign.Face.Tests;

public class FaceCliTests
{
    private static async Task<(int Exit, JsonElement Json)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CountersignCli.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        return (exit, JsonDocument.Parse(lines[0]).RootElement);
    }

    private static string Write(byte[] bytes, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"countersign-face-{Guid.NewGuid():N}{extension}");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task Compare_prints_a_match_and_exits_0_or_a_mismatch_and_exits_1()
    {
        var a = Write(Fixtures.Encode(FaceEngineTests.FaceCrop), ".png");
        var b = Write(Fixtures.Encode(FaceEngineTests.FaceCrop, 70), ".jpg");
        var stranger = Path.Combine(Fixtures.Dir, "reference", "sample3-face0.png");
        try
        {
            var (exit, json) = await RunAsync("face", "compare", a, b);
            Assert.Equal(0, exit);
            Assert.True(json.GetProperty("match").GetBoolean());
            Assert.InRange(json.GetProperty("distance").GetDouble(), 0.0001, FaceEngine.DefaultThreshold);
            Assert.Equal(FaceEngine.DefaultThreshold, json.GetProperty("threshold").GetDouble());

            (exit, json) = await RunAsync("face", "compare", a, stranger);
            Assert.Equal(1, exit);
            Assert.False(json.GetProperty("match").GetBoolean());
            Assert.True(json.GetProperty("distance").GetDouble() > FaceEngine.DefaultThreshold);

            // A looser threshold turns the same pair into a match.
            (exit, json) = await RunAsync("face", "compare", a, stranger, "--threshold", "1.5");
            Assert.Equal(0, exit);
            Assert.Equal(1.5, json.GetProperty("threshold").GetDouble());
        }
        finally
        {
            File.Delete(a);
            File.Delete(b);
        }
    }

    [Fact]
    public async Task Compare_prints_the_error_code_and_exits_2()
    {
        var face = Write(Fixtures.Encode(FaceEngineTests.FaceCrop), ".png");
        var text = Write("not a picture"u8.ToArray(), ".jpg");
        var group = Path.Combine(Fixtures.Dir, "samples", "sample1.jpg");
        try
        {
            var (exit, json) = await RunAsync("face", "compare", face, text);
            Assert.Equal(2, exit);
            Assert.Equal("not_an_image", json.GetProperty("error").GetString());

            (exit, json) = await RunAsync("face", "compare", group, face);
            Assert.Equal(2, exit);
            Assert.Equal("multiple_faces", json.GetProperty("error").GetString());

            (exit, json) = await RunAsync("face", "compare", face, face + ".missing");
            Assert.Equal(2, exit);
            Assert.Equal("unreadable_file", json.GetProperty("error").GetString());
        }
        finally
        {
            File.Delete(face);
            File.Delete(text);
        }
    }
}

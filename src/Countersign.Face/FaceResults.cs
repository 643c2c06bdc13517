namespace Countersign.Face;

/// <summary>Why a picture could not be enrolled or verified. Expected outcomes, returned as values.</summary>
public enum FaceError
{
    /// <summary>Not a JPEG, PNG or WebP, or one that does not decode.</summary>
    NotAnImage,
    /// <summary>More than 10 MiB, or more than 20 megapixels.</summary>
    ImageTooLarge,
    /// <summary>The detector found no face.</summary>
    NoFace,
    /// <summary>More than one face large enough to use: which one is meant is ambiguous.</summary>
    MultipleFaces,
    /// <summary>A face, but too few pixels across to describe reliably.</summary>
    FaceTooSmall,
    /// <summary>Enrolment only: the face is too blurred (out of focus or moving) to make a reliable template.</summary>
    FaceTooBlurred,
    /// <summary>Enrolment only: the face is too dark to make a reliable template.</summary>
    FaceTooDark,
    /// <summary>Enrolment from several photos: they do not show the same person (or one is far off the rest).</summary>
    PhotosDiffer,
}

public static class FaceErrorCodes
{
    /// <summary>The stable machine code: <c>not_an_image</c>, <c>image_too_large</c>, <c>no_face</c>, …</summary>
    public static string Code(this FaceError error) => error switch
    {
        FaceError.NotAnImage => "not_an_image",
        FaceError.ImageTooLarge => "image_too_large",
        FaceError.NoFace => "no_face",
        FaceError.MultipleFaces => "multiple_faces",
        FaceError.FaceTooSmall => "face_too_small",
        FaceError.FaceTooBlurred => "face_too_blurred",
        FaceError.FaceTooDark => "face_too_dark",
        FaceError.PhotosDiffer => "photos_differ",
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };
}

/// <summary>Either a value or a <see cref="FaceError"/>.</summary>
public readonly record struct FaceResult<T>
    where T : class
{
    private FaceResult(T? value, FaceError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }
    public FaceError? Error { get; }

    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Value))]
    public bool Succeeded => Value is not null;

#pragma warning disable CA1000 // static factories on a generic result type are the clearest spelling here
    public static FaceResult<T> Success(T value) => new(value, null);
    public static FaceResult<T> Failure(FaceError error) => new(null, error);
#pragma warning restore CA1000
}

/// <summary>The outcome of comparing a picture with a template.</summary>
/// <param name="Match">Whether <paramref name="Distance"/> is at most <paramref name="Threshold"/>.</param>
/// <param name="Distance">Euclidean distance between the two 128-d descriptors.</param>
/// <param name="Threshold">The threshold in force.</param>
public sealed record FaceVerification(bool Match, double Distance, double Threshold);

using SkiaSharp;

namespace Harness.Data.ImageFolder;

/// <summary>Decodes one image file (JPEG, PNG, BMP, WebP, GIF: whatever SkiaSharp reads) into RGB bytes, the way
/// every image of an image folder is decoded.</summary>
public static class ImageDecoder
{
    /// <summary>The longest side decoded (SkiaSharp's own limit is larger).</summary>
    public const int MaxSide = 16_384;

    /// <summary>The most pixels decoded (4096 × 4096: 64 MiB as RGBA, four times a 12-megapixel photo's 48 MiB);
    /// a larger image is refused by its header, before any buffer is sized.</summary>
    public const long MaxPixels = 1L << 24;

    /// <summary>The decoded image; a file that is not a readable image is an <see cref="InvalidDataException"/>
    /// naming it, a missing one a <see cref="FileNotFoundException"/>.</summary>
    public static DecodedImage Decode(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not a readable image");
        // The header's size is checked before any pixel buffer is sized: a few hundred bytes can declare gigapixels.
        var size = codec.Info;
        if (size.Width < 1 || size.Height < 1 || size.Width > MaxSide || size.Height > MaxSide || (long)size.Width * size.Height > MaxPixels)
            throw new InvalidDataException($"{path}: image of {size.Width}×{size.Height} pixels; images of at most {MaxSide} pixels a side and {MaxPixels:N0} in all are decoded");
        // Decoded straight into RGBA (premultiplied where the file has alpha, as SKBitmap.Decode does): no second copy.
        var rgba = size.WithColorType(SKColorType.Rgba8888)
            .WithAlphaType(size.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : size.AlphaType);
        using var src = SKBitmap.Decode(codec, rgba) ?? throw new InvalidDataException($"{path}: not a readable image");
        int h = src.Height, w = src.Width, plane = h * w;
        var bytes = src.GetPixelSpan();
        var chw = new byte[3 * plane];
        for (int p = 0; p < plane; p++)
        {
            chw[p] = bytes[4 * p];
            chw[plane + p] = bytes[4 * p + 1];
            chw[2 * plane + p] = bytes[4 * p + 2];
        }
        return new DecodedImage(chw, h, w);
    }
}

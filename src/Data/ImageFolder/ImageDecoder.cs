using SkiaSharp;

namespace Harness.Data.ImageFolder;

/// <summary>Decodes one image file (JPEG, PNG, BMP, WebP, GIF: whatever SkiaSharp reads) into RGB bytes, the way
/// every image of an image folder is decoded.</summary>
public static class ImageDecoder
{
    /// <summary>The decoded image; a file that is not a readable image is an <see cref="InvalidDataException"/>
    /// naming it, a missing one a <see cref="FileNotFoundException"/>.</summary>
    public static DecodedImage Decode(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var bitmap = SKBitmap.Decode(path)
                           ?? throw new InvalidDataException($"{path}: not a readable image");
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var src = rgba ?? bitmap;
        if (src is null) throw new InvalidDataException($"{path}: image could not be converted to RGB");
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

namespace Harness.Storage.Files;

/// <summary>Streams a URL into a new file with progress; a transfer that ends short of the announced length is an error.</summary>
public static class HttpDownload
{
    public static void ToFile(HttpClient http, string url, string path, Action<long, long?>? progress)
    {
        try
        {
            using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new IOException($"download of {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            long? total = response.Content.Headers.ContentLength;
            using var input = response.Content.ReadAsStream();
            using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            var buffer = new byte[1 << 16];
            long done = 0;
            int n;
            while ((n = input.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, n);
                done += n;
                progress?.Invoke(done, total);
            }
            if (total is long expected && done != expected)
                throw new IOException($"download of {url} was cut short: {done} of {expected} bytes");
        }
        catch (HttpRequestException ex)
        {
            throw new IOException($"download of {url} failed: {ex.Message}", ex);
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace Harness.Tests.TestSupport;

/// <summary>A tiny HTTP server on 127.0.0.1 (random free port) serving fixed byte arrays by path; for download tests.
/// It only ever answers on loopback and stops when disposed.</summary>
public sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, (byte[] Body, long? DeclaredLength)> _files = new();
    private readonly Task _loop;

    public LocalHttpServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseUrl);
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public string BaseUrl { get; }

    public int Requests { get; private set; }

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/>; a larger declared length simulates a cut download.</summary>
    public void Add(string path, byte[] body, long? declaredLength = null) => _files["/" + path.TrimStart('/')] = (body, declaredLength);

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            Requests++;
            try
            {
                if (_files.TryGetValue(ctx.Request.Url!.AbsolutePath, out var f))
                {
                    ctx.Response.ContentLength64 = f.DeclaredLength ?? f.Body.Length;
                    await ctx.Response.OutputStream.WriteAsync(f.Body);
                    if (f.DeclaredLength is not null) { ctx.Response.Abort(); continue; }
                }
                else ctx.Response.StatusCode = 404;
                ctx.Response.Close();
            }
            catch (Exception) { ctx.Response.Abort(); }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HealthKit.Smoke;

/// <summary>
/// The response side of an in-process render. Unlike the stock <see cref="HttpResponseFeature"/>, it runs
/// <c>OnStarting</c> callbacks when the body is first written and <c>OnCompleted</c> callbacks at the end: the
/// request's service scope is disposed from an OnCompleted callback, so without them every render would leak it.
/// The body goes to a bounded buffer; what is written beyond the bound is counted and dropped, never kept.
/// </summary>
internal sealed class SmokeResponseFeature : IHttpResponseFeature, IHttpResponseBodyFeature
{
    public const int MaxBody = 1024 * 1024;

    private readonly List<(Func<object, Task> Callback, object State)> _starting = [];
    private readonly List<(Func<object, Task> Callback, object State)> _completed = [];
    private readonly BodyStream _body;
    private PipeWriter? _writer;

    public SmokeResponseFeature()
    {
        _body = new BodyStream(this);
        Body = _body;
    }

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

    public Stream Body { get; set; }

    public bool HasStarted { get; private set; }

    public long BytesWritten => _body.Total;

    public Stream Stream => Body;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(Body, new StreamPipeWriterOptions(leaveOpen: true));

    public ReadOnlySpan<byte> Captured => _body.Captured;

    public void OnStarting(Func<object, Task> callback, object state)
    {
        if (HasStarted)
        {
            throw new InvalidOperationException("The response has already started.");
        }

        _starting.Add((callback, state));
    }

    public void OnCompleted(Func<object, Task> callback, object state) => _completed.Add((callback, state));

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (HasStarted)
        {
            return;
        }

        HasStarted = true;

        // Registered last, run first: the order the servers use.
        for (var i = _starting.Count - 1; i >= 0; i--)
        {
            await _starting[i].Callback(_starting[i].State).ConfigureAwait(false);
        }
    }

    public async Task CompleteAsync()
    {
        await StartAsync().ConfigureAwait(false);
        if (_writer is not null)
        {
            await _writer.FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs the OnCompleted callbacks (disposing the request scope among them), each even if another throws.</summary>
    public async Task FireCompletedAsync()
    {
        List<Exception>? errors = null;
        for (var i = _completed.Count - 1; i >= 0; i--)
        {
            try
            {
                await _completed[i].Callback(_completed[i].State).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Collected and rethrown together below.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(exception);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException(errors);
        }
    }

    public void DisableBuffering()
    {
    }

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            file.Seek(offset, SeekOrigin.Begin);
            await StartAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[Math.Min(count ?? 81920, 81920)];
            var left = count ?? long.MaxValue;
            int read;
            while (left > 0 && (read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                left -= read;
            }
        }
    }

    private sealed class BodyStream(SmokeResponseFeature owner) : Stream
    {
        private readonly MemoryStream _captured = new();

        public long Total { get; private set; }

        public ReadOnlySpan<byte> Captured => _captured.GetBuffer().AsSpan(0, (int)_captured.Length);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => owner.StartAsync().GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => owner.StartAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            owner.StartAsync().GetAwaiter().GetResult();
            Capture(buffer.AsSpan(offset, count));
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await owner.StartAsync(cancellationToken).ConfigureAwait(false);
            Capture(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Capture(ReadOnlySpan<byte> data)
        {
            Total += data.Length;
            var room = MaxBody - (int)_captured.Length;
            if (room > 0)
            {
                _captured.Write(data[..Math.Min(room, data.Length)]);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _captured.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

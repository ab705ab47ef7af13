// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;

namespace HealthKit.Doors.Grpc;

/// <summary>
/// The few bytes of grpc.health.v1 on the wire, written by hand so the package takes no gRPC or Protobuf dependency:
/// the length-prefixed gRPC message frame (a compressed flag, a 4-byte big-endian length, the message), the
/// <c>HealthCheckRequest { string service = 1; }</c> it reads and the <c>HealthCheckResponse { ServingStatus status = 1; }</c>
/// and <c>HealthListResponse { map&lt;string, HealthCheckResponse&gt; statuses = 1; }</c> it writes. Every response is a
/// preallocated frame, so a cached Check allocates nothing here.
/// </summary>
internal static class GrpcHealthWire
{
    /// <summary>
    /// The largest request message read. A health request carries one service name; gRPC's own default is 4 MB, but
    /// nothing a prober sends comes near this, and a bound keeps a door in front of authentication cheap to abuse.
    /// </summary>
    public const int MaxRequestMessage = 4096;

    public const int FrameHeader = 5;

    // grpc.health.v1.HealthCheckResponse.ServingStatus.
    public const int Serving = 1;
    public const int NotServing = 2;
    public const int ServiceUnknown = 3;

    private static readonly byte[] ServingFrame = ResponseFrame(Serving);
    private static readonly byte[] NotServingFrame = ResponseFrame(NotServing);
    private static readonly byte[] ServiceUnknownFrame = ResponseFrame(ServiceUnknown);

    // List answers every service the door knows; four frames cover every combination of the two verdicts.
    private static readonly byte[][] ListFrames =
    [
        ListFrame(ready: false, live: false),
        ListFrame(ready: false, live: true),
        ListFrame(ready: true, live: false),
        ListFrame(ready: true, live: true),
    ];

    /// <summary>Returns the framed <c>HealthCheckResponse</c> for a serving status.</summary>
    public static byte[] Response(int status) => status switch
    {
        Serving => ServingFrame,
        NotServing => NotServingFrame,
        _ => ServiceUnknownFrame,
    };

    /// <summary>Returns the framed <c>HealthListResponse</c> for the readiness and liveness verdicts.</summary>
    public static byte[] List(bool ready, bool live) => ListFrames[(ready ? 2 : 0) + (live ? 1 : 0)];

    /// <summary>
    /// Reads one request frame from what has arrived so far. <see cref="FrameRead.NeedMore"/> until the whole message
    /// is there; never waits for the end of the request stream, so a client that does not half-close still gets its answer.
    /// An empty request is <see cref="FrameRead.Complete"/> with an empty <paramref name="message"/>.
    /// </summary>
    public static FrameRead TryReadFrame(ReadOnlySequence<byte> buffer, bool completed, out ReadOnlySequence<byte> message, out string? error)
    {
        message = default;
        error = null;
        if (buffer.Length < FrameHeader)
        {
            if (!completed)
            {
                return FrameRead.NeedMore;
            }

            if (buffer.IsEmpty)
            {
                // A request that ends with no message at all is read as the empty message (service ""), where a strict
                // server would refuse it: what a balancer's health checker puts in the body is not documented, and a
                // probe that gets an answer beats one that gets INTERNAL.
                return FrameRead.Complete;
            }

            error = "The request ended inside a message header.";
            return FrameRead.Malformed;
        }

        Span<byte> header = stackalloc byte[FrameHeader];
        buffer.Slice(0, FrameHeader).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (header[0] > 1)
        {
            error = "The request message has an invalid compressed flag.";
            return FrameRead.Malformed;
        }

        if (length > MaxRequestMessage)
        {
            error = "The request message is larger than " + MaxRequestMessage + " bytes.";
            return FrameRead.TooLarge;
        }

        if (header[0] == 1)
        {
            return FrameRead.Compressed;
        }

        var total = FrameHeader + (long)length;
        if (buffer.Length < total)
        {
            if (!completed)
            {
                return FrameRead.NeedMore;
            }

            error = "The request ended inside a message.";
            return FrameRead.Malformed;
        }

        if (buffer.Length > total)
        {
            error = "The request has more than one message.";
            return FrameRead.Malformed;
        }

        message = buffer.Slice(FrameHeader, length);
        return FrameRead.Complete;
    }

    /// <summary>
    /// Reads <c>HealthCheckRequest.service</c> as protobuf does: the last occurrence of field 1 wins, unknown fields are
    /// skipped, an absent field is <c>""</c>. Returns false, with the reason, when the bytes are not a valid message.
    /// </summary>
    public static bool TryReadService(ReadOnlySpan<byte> message, out ReadOnlySpan<byte> service, out string? error)
    {
        service = default;
        error = null;
        var position = 0;
        while (position < message.Length)
        {
            if (!TryReadVarint(message, ref position, out var tag) || tag > uint.MaxValue || tag >> 3 == 0)
            {
                error = "The request message has an invalid field tag.";
                return false;
            }

            var field = tag >> 3;
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(message, ref position, out _))
                    {
                        error = "The request message has a truncated varint.";
                        return false;
                    }

                    if (field == 1)
                    {
                        error = "HealthCheckRequest.service has the wrong wire type.";
                        return false;
                    }

                    break;
                case 1:
                case 5:
                    var size = (tag & 7) == 1 ? 8 : 4;
                    if (field == 1 || message.Length - position < size)
                    {
                        error = field == 1 ? "HealthCheckRequest.service has the wrong wire type." : "The request message has a truncated field.";
                        return false;
                    }

                    position += size;
                    break;
                case 2:
                    if (!TryReadVarint(message, ref position, out var length) || length > (ulong)(message.Length - position))
                    {
                        error = "The request message has a truncated field.";
                        return false;
                    }

                    var value = message.Slice(position, (int)length);
                    position += (int)length;
                    if (field == 1)
                    {
                        if (!Utf8.IsValid(value))
                        {
                            error = "HealthCheckRequest.service is not valid UTF-8.";
                            return false;
                        }

                        service = value;
                    }

                    break;
                default:
                    // Groups (3, 4) are not in proto3 and 6, 7 do not exist.
                    error = "The request message has an unsupported wire type.";
                    return false;
            }
        }

        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] ResponseFrame(int status)
    {
        // Field 1, varint (tag 0x08), then the enum value: two bytes, framed.
        ReadOnlySpan<byte> message = [0x08, (byte)status];
        return Frame(message);
    }

    private static byte[] ListFrame(bool ready, bool live)
    {
        var readiness = ready ? Serving : NotServing;
        var buffer = new List<byte>();
        Entry(buffer, ""u8, readiness);
        Entry(buffer, "liveness"u8, live ? Serving : NotServing);
        Entry(buffer, "readiness"u8, readiness);
        return Frame(buffer.ToArray());

        static void Entry(List<byte> buffer, ReadOnlySpan<byte> key, int status)
        {
            // A map entry is a message { string key = 1; HealthCheckResponse value = 2; } in field 1 of the list.
            var entryLength = 2 + key.Length + 4;
            buffer.Add(0x0A);
            buffer.Add((byte)entryLength);
            buffer.Add(0x0A);
            buffer.Add((byte)key.Length);
            buffer.AddRange(key);
            buffer.Add(0x12);
            buffer.Add(0x02);
            buffer.Add(0x08);
            buffer.Add((byte)status);
        }
    }

    private static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var frame = new byte[FrameHeader + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame.AsSpan(FrameHeader));
        return frame;
    }
}

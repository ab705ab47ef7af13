// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net.Sockets;

namespace HealthKit.Sockets;

/// <summary>A connection of the loop's, with its socket.</summary>
internal sealed class SocketConnection(Socket socket) : Connection
{
    public Socket Socket { get; } = socket;
}

// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;

namespace HealthKit.Doors.Grpc;

/// <summary>
/// The gRPC door's place in the pipeline, in front of host filtering, authentication and routing like the probe door:
/// two character compares for a request that is not a gRPC health call (<see cref="GrpcHealthDoor.IsCandidate"/>).
/// </summary>
internal sealed class GrpcHealthMiddleware(RequestDelegate next, GrpcHealthDoor door)
{
    public Task InvokeAsync(HttpContext context) =>
        GrpcHealthDoor.IsCandidate(context.Request.Path) ? door.InvokeAsync(context, next) : next(context);
}

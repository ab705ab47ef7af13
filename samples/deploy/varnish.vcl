# Varnish 7 in front of an app that calls builder.Services.AddDeployHealth().
#
# Placeholders: ${APP_HOST} and ${APP_PORT} are the instance. Each is written ${NAME} and stands alone; replace them
# before use, for example
#     APP_HOST=10.0.1.11 APP_PORT=8080 envsubst '${APP_HOST} ${APP_PORT}' < varnish.vcl > /etc/varnish/default.vcl
# tests/HealthKit.Tests/Doors/Http/VarnishProberTests.cs runs this very file with loopback values (and once with the
# hand-written .request below instead of .url).
#
# Deploy arithmetic: from a full window Varnish marks the backend sick after window - threshold + 1 = 2 failed
# probes, so it sees a draining instance within .interval x 2 + .timeout = 2 s x 2 + 3 s = 7 s; DeployHealth:Drain:Delay
# (the default 10 s) covers that with a margin. .timeout is above HealthKit's check deadline (DeployHealth:CheckDeadline,
# 2 s), and the app is told it:
#     DeployHealth__BalancerProbeTimeout=00:00:03
#
# What Varnish sends for .url: "GET /health HTTP/1.1", "Host: ${APP_HOST}", "Connection: close". A hand-written
#     .request = "GET /health HTTP/1.1" "Connection: close";
# has no Host line: Kestrel refuses that with 400 before any middleware, and HealthKit's connection door answers it.
# Either way the probe is answered in front of host filtering, so AllowedHosts needs no backend address.

vcl 4.1;

probe health {
    .url = "/health";
    .expected_response = 200;
    .interval = 2s;
    .timeout = 3s;
    .window = 3;
    .threshold = 2;
    .initial = 0;
}

backend app {
    .host = "${APP_HOST}";
    .port = "${APP_PORT}";
    .probe = health;
}

sub vcl_recv {
    set req.backend_hint = app;
    return (pass);
}

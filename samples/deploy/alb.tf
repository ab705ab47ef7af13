# An AWS ALB target group for an app that calls builder.Services.AddDeployHealth() and listens on 8080.
# Add it to your own load balancer, listener and targets (aws_lb, aws_lb_listener, an ECS service or an
# autoscaling group); var.vpc_id is yours.
#
# Deploy arithmetic:
# - The ALB sees a draining target's 503s within interval x unhealthy_threshold + timeout (the check in flight) =
#   5 s x 2 + 3 s = 13 s. HealthKit's drain follows it: it ends once the ELB-HealthChecker probes have had
#   2 failing answers and requests have stopped (about 11-14 s here), at most DeployHealth:Drain:Maximum (30 s, the
#   default). With the ALB's default 30 s interval it would need over 60 s, past Drain:Maximum (event 462 warns at run
#   time). Set on the app (environment of the task or instance):
#     DeployHealth__BalancerProbeTimeout=00:00:03
#   BalancerProbeTimeout is the health check's timeout, so HealthKit can check its deadlines against it.
# - Once the target is unhealthy or deregistered, the ALB sends it no new requests; deregistration_delay is how long
#   it lets requests already sent finish before it forgets the target. The app is still serving for the rest of
#   the drain and then for HostOptions.ShutdownTimeout, so the drain's maximum (30 s) plus your longest request
#   is enough: 30 s here instead of the default 300 s, which only slows every deploy.
# - The task or instance must be allowed to stop for longer than the drain + ShutdownTimeout; the worst case is
#   Drain:Maximum + ShutdownTimeout = 30 s + 30 s: on ECS, stopTimeout = 65 in the container definition (at most 120).
# - A new target takes traffic after healthy_threshold x interval = 2 x 5 s of 200s.

variable "vpc_id" {
  type = string
}

resource "aws_lb_target_group" "shop" {
  name                 = "shop"
  port                 = 8080
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled  = true
    protocol = "HTTP"
    port     = "traffic-port"
    # The ALB sends the target's private IP as Host and follows no redirect: HealthKit answers /health before host
    # filtering and HTTPS redirection, so AllowedHosts and UseHttpsRedirection stay as they are.
    path    = "/health"
    matcher = "200"
    # Above HealthKit's check deadline (DeployHealth:CheckDeadline, 2 s), below the interval.
    timeout             = 3
    interval            = 5
    unhealthy_threshold = 2
    healthy_threshold   = 2
  }
}

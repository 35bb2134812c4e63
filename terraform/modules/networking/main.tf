locals {
  tags = concat(var.tags, ["ciel", var.name_prefix])
}

# ---------------------------------------------------------------- VPC + PN

resource "scaleway_vpc" "this" {
  name   = "${var.name_prefix}-vpc"
  region = var.region
  tags   = local.tags
}

resource "scaleway_vpc_private_network" "this" {
  name   = "${var.name_prefix}-pn"
  vpc_id = scaleway_vpc.this.id
  region = var.region
  tags   = local.tags

  ipv4_subnet {
    subnet = var.private_network_cidr
  }
}

# ---------------------------------------------------------- Public gateway

resource "scaleway_vpc_public_gateway_ip" "this" {
  count = var.enable_public_gateway ? 1 : 0

  zone = var.zone
  tags = local.tags
}

# The gateway's default route takes over the replies of any host that also
# has a public IP (Scaleway: public-gateways/concepts, "Default route"), so
# with the gateway on no app host gets a public IP: operators come in through
# the gateway's own SSH bastion, and the API (no LB) through a PAT rule.
resource "scaleway_vpc_public_gateway" "this" {
  count = var.enable_public_gateway ? 1 : 0

  name              = "${var.name_prefix}-gw"
  type              = var.public_gateway_type
  zone              = var.zone
  ip_id             = scaleway_vpc_public_gateway_ip.this[0].id
  tags              = local.tags
  bastion_enabled   = var.enable_bastion
  bastion_port      = var.bastion_port
  allowed_ip_ranges = var.enable_bastion ? var.bastion_allowed_cidrs : null
}

resource "scaleway_vpc_gateway_network" "this" {
  count = var.enable_public_gateway ? 1 : 0

  gateway_id         = scaleway_vpc_public_gateway.this[0].id
  private_network_id = scaleway_vpc_private_network.this.id
  enable_masquerade  = true
  zone               = var.zone

  ipam_config {
    push_default_route = true
  }
}

# Without a load balancer, the host that serves the API (combined instance or
# first API instance) is reached on the gateway's IP: the request and its
# reply both cross the gateway, whose default route the host follows.
resource "scaleway_vpc_public_gateway_pat_rule" "api" {
  count = var.enable_public_gateway && var.enable_api_port_forward ? 1 : 0

  gateway_id   = scaleway_vpc_public_gateway.this[0].id
  private_ip   = var.api_port_forward_ip
  private_port = var.app_port
  public_port  = var.app_port
  protocol     = "tcp"
  zone         = var.zone

  depends_on = [scaleway_vpc_gateway_network.this]
}

# --------------------------------------------------------- Security groups
# Security groups filter the public interface only; private network traffic
# (LB -> API, API -> Redis/DB, bastion -> instances) is not filtered by them.

resource "scaleway_instance_security_group" "api" {
  name                    = "${var.name_prefix}-api"
  description             = "Ciel API: app port from the public only when there is no LB and no gateway (SSH comes over the private network)."
  zone                    = var.zone
  inbound_default_policy  = "drop"
  outbound_default_policy = "accept"
  stateful                = true
  tags                    = local.tags

  dynamic "inbound_rule" {
    for_each = var.enable_load_balancer || var.enable_public_gateway ? [] : var.api_public_ingress_cidrs
    content {
      action   = "accept"
      protocol = "TCP"
      port     = var.app_port
      ip_range = inbound_rule.value
    }
  }
}

resource "scaleway_instance_security_group" "worker" {
  name                    = "${var.name_prefix}-worker"
  description             = "Ciel workers and self-hosted Redis: no public inbound traffic, outbound only."
  zone                    = var.zone
  inbound_default_policy  = "drop"
  outbound_default_policy = "accept"
  stateful                = true
  tags                    = local.tags
}

resource "scaleway_instance_security_group" "bastion" {
  count = local.bastion_instance

  name                    = "${var.name_prefix}-bastion"
  description             = "SSH bastion: SSH from the allowed CIDRs only."
  zone                    = var.zone
  inbound_default_policy  = "drop"
  outbound_default_policy = "accept"
  stateful                = true
  tags                    = local.tags

  dynamic "inbound_rule" {
    for_each = var.bastion_allowed_cidrs
    content {
      action   = "accept"
      protocol = "TCP"
      port     = 22
      ip_range = inbound_rule.value
    }
  }
}

# ----------------------------------------------------------------- Bastion
# Only without a public gateway: with one, the gateway's own SSH bastion is
# the way in (an instance with a public IP would lose it to the gateway's
# default route).

locals {
  bastion_instance = var.enable_bastion && !var.enable_public_gateway ? 1 : 0
}

resource "scaleway_instance_ip" "bastion" {
  count = local.bastion_instance

  zone = var.zone
  tags = local.tags
}

resource "scaleway_instance_server" "bastion" {
  count = local.bastion_instance

  name              = "${var.name_prefix}-bastion"
  type              = var.bastion_instance_type
  image             = "ubuntu_noble"
  zone              = var.zone
  ip_id             = scaleway_instance_ip.bastion[0].id
  security_group_id = scaleway_instance_security_group.bastion[0].id
  tags              = concat(local.tags, ["bastion"])

  private_network {
    pn_id = scaleway_vpc_private_network.this.id
  }
}

# ----------------------------------------------------------- Load balancer

resource "scaleway_lb_ip" "this" {
  count = var.enable_load_balancer ? 1 : 0

  zone = var.zone
  tags = local.tags
}

resource "scaleway_lb" "this" {
  count = var.enable_load_balancer ? 1 : 0

  name   = "${var.name_prefix}-lb"
  type   = var.lb_type
  zone   = var.zone
  ip_ids = [scaleway_lb_ip.this[0].id]
  tags   = local.tags

  private_network {
    private_network_id = scaleway_vpc_private_network.this.id
  }
}

resource "scaleway_lb_backend" "api" {
  count = var.enable_load_balancer ? 1 : 0

  lb_id            = scaleway_lb.this[0].id
  name             = "${var.name_prefix}-api"
  forward_protocol = "http"
  forward_port     = var.app_port
  server_ips       = var.lb_backend_server_ips
  # A request that meets a backend going away is sent to another one.
  redispatch_attempt_count = 1

  health_check_delay       = "10s"
  health_check_timeout     = "5s"
  health_check_max_retries = 3
  health_check_port        = var.app_port
  on_marked_down_action    = "shutdown_sessions"

  health_check_http {
    uri    = "/health"
    method = "GET"
    code   = 200
  }
}

# Let's Encrypt certificate for the LB's own *.lb.<region>.scw.cloud name,
# plus any extra names whose DNS already points at the LB.
resource "scaleway_lb_certificate" "this" {
  count = var.enable_load_balancer ? 1 : 0

  lb_id = scaleway_lb.this[0].id
  name  = "${var.name_prefix}-cert"

  letsencrypt {
    common_name              = "${replace(scaleway_lb_ip.this[0].ip_address, ".", "-")}.lb.${var.region}.scw.cloud"
    subject_alternative_name = var.lb_certificate_extra_domains
  }
}

resource "scaleway_lb_frontend" "https" {
  count = var.enable_load_balancer ? 1 : 0

  lb_id           = scaleway_lb.this[0].id
  backend_id      = scaleway_lb_backend.api[0].id
  name            = "${var.name_prefix}-https"
  inbound_port    = 443
  certificate_ids = [scaleway_lb_certificate.this[0].id]
  enable_http3    = true
  timeout_client  = "30s"
}

# Plain HTTP on 80 redirects to HTTPS.
resource "scaleway_lb_frontend" "http" {
  count = var.enable_load_balancer ? 1 : 0

  lb_id        = scaleway_lb.this[0].id
  backend_id   = scaleway_lb_backend.api[0].id
  name         = "${var.name_prefix}-http"
  inbound_port = 80

  acl {
    name = "redirect-to-https"

    action {
      type = "redirect"

      redirect {
        type   = "scheme"
        target = "https"
        code   = 301
      }
    }

    match {
      ip_subnet = ["0.0.0.0/0"]
    }
  }
}

# ------------------------------------------- Scenario 9: the cluster's LB
# Made here, not by the cloud controller, so that Terraform owns its IP (the
# API's DNS record points at it) and its certificate (HTTPS on 443). The
# Service names both in its annotations (deploy/k8s/rollout fills them from
# the stack's kubernetes_lb output); the controller adds the frontends and
# backends.

resource "scaleway_lb_ip" "k8s" {
  count = var.enable_kubernetes_lb ? 1 : 0

  zone = var.zone
  tags = local.tags
}

resource "scaleway_lb" "k8s" {
  count = var.enable_kubernetes_lb ? 1 : 0

  name   = "${var.name_prefix}-k8s-lb"
  type   = var.lb_type
  zone   = var.zone
  ip_ids = [scaleway_lb_ip.k8s[0].id]
  tags   = local.tags

  private_network {
    private_network_id = scaleway_vpc_private_network.this.id
  }
}

resource "scaleway_lb_certificate" "k8s" {
  count = var.enable_kubernetes_lb ? 1 : 0

  lb_id = scaleway_lb.k8s[0].id
  name  = "${var.name_prefix}-k8s-cert"

  letsencrypt {
    common_name              = "${replace(scaleway_lb_ip.k8s[0].ip_address, ".", "-")}.lb.${var.region}.scw.cloud"
    subject_alternative_name = var.lb_certificate_extra_domains
  }
}

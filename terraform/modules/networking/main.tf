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

resource "scaleway_vpc_public_gateway" "this" {
  count = var.enable_public_gateway ? 1 : 0

  name  = "${var.name_prefix}-gw"
  type  = var.public_gateway_type
  zone  = var.zone
  ip_id = scaleway_vpc_public_gateway_ip.this[0].id
  tags  = local.tags
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

# --------------------------------------------------------- Security groups
# Security groups filter the public interface only; private network traffic
# (LB -> API, API -> Redis/DB, bastion -> instances) is not filtered by them.

resource "scaleway_instance_security_group" "api" {
  name                    = "${var.name_prefix}-api"
  description             = "Ciel API: app port from the public only when there is no LB; SSH only from the bastion."
  zone                    = var.zone
  inbound_default_policy  = "drop"
  outbound_default_policy = "accept"
  stateful                = true
  tags                    = local.tags

  dynamic "inbound_rule" {
    for_each = var.enable_load_balancer ? [] : var.api_public_ingress_cidrs
    content {
      action   = "accept"
      protocol = "TCP"
      port     = var.app_port
      ip_range = inbound_rule.value
    }
  }

  dynamic "inbound_rule" {
    for_each = var.enable_bastion ? [scaleway_instance_ip.bastion[0].address] : []
    content {
      action   = "accept"
      protocol = "TCP"
      port     = 22
      ip_range = "${inbound_rule.value}/32"
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
  count = var.enable_bastion ? 1 : 0

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

resource "scaleway_instance_ip" "bastion" {
  count = var.enable_bastion ? 1 : 0

  zone = var.zone
  tags = local.tags
}

resource "scaleway_instance_server" "bastion" {
  count = var.enable_bastion ? 1 : 0

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

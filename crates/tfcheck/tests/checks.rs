//! The six checks of issue 4, run against the real terraform/ tree, and
//! against deliberately broken copies to prove each check catches problems.

mod common;

use common::*;
use std::path::Path;
use tfcheck::*;

fn tf() -> std::path::PathBuf {
    terraform_root()
}

fn dev(root: &Path) -> std::path::PathBuf {
    root.join("environments/dev")
}

fn check_api_env(root: &Path) -> Vec<String> {
    check_env_wiring(root, &api_rows(), SERVERLESS_SECRETS, LATER_ENV_MAPPING)
}

#[test]
fn tree_has_the_expected_layout() {
    let root = tf();
    for m in [
        "networking",
        "compute",
        "database",
        "cache",
        "storage",
        "messaging",
        "secrets",
        "observability",
        "dns",
        "kubernetes",
        "mail",
    ] {
        for f in [
            "main.tf",
            "variables.tf",
            "outputs.tf",
            "versions.tf",
            "README.md",
        ] {
            let p = root.join("modules").join(m).join(f);
            assert!(p.is_file(), "missing {}", p.display());
        }
    }
    for f in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
        let p = root.join("stack").join(f);
        assert!(p.is_file(), "missing {}", p.display());
    }
    for e in ["dev", "staging", "prod"] {
        for f in [
            "main.tf",
            "variables.tf",
            "backend.tf",
            "terraform.tfvars.example",
        ] {
            let p = root.join("environments").join(e).join(f);
            assert!(p.is_file(), "missing {}", p.display());
        }
    }
    let scenarios = files_with_ext(&root.join("environments/dev/scenarios"), ".tfvars");
    assert_eq!(
        scenarios.len(),
        9,
        "expected scenarios 01..09: {scenarios:?}"
    );
}

// ----------------------------------------------------------------- Check 1

mod check1_schema {
    use super::*;

    fn run(root: &Path) -> Vec<String> {
        check_schema(root, &bundled_schema())
    }

    #[test]
    fn real_tree_matches_the_provider_schema() {
        assert_clean("check 1 (schema)", &run(&tf()));
    }

    #[test]
    fn catches_an_unknown_resource_type() {
        let t = BrokenTree::new();
        t.replace(
            "modules/messaging/main.tf",
            "resource \"scaleway_mnq_sqs\" \"this\"",
            "resource \"scaleway_mnq_sqs_service\" \"this\"",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["unknown resource type", "scaleway_mnq_sqs_service"],
        );
    }

    #[test]
    fn catches_an_unknown_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/database/main.tf",
            "is_ha_cluster",
            "high_availability",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["unknown argument", "high_availability"],
        );
    }

    #[test]
    fn catches_a_missing_required_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/database/main.tf",
            "node_type          = var.db_node_type",
            "",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &[
                "scaleway_rdb_instance",
                "missing required argument \"node_type\"",
            ],
        );
    }

    /// The kubernetes module (scenario 9) is checked like the others: the
    /// cluster's required `delete_additional_resources`, and an argument
    /// the pool does not have.
    #[test]
    fn catches_mistakes_in_the_kubernetes_module() {
        let t = BrokenTree::new();
        t.replace(
            "modules/kubernetes/main.tf",
            "delete_additional_resources = true",
            "",
        )
        .replace(
            "modules/kubernetes/main.tf",
            "autohealing = true",
            "auto_healing = true",
        );
        let errs = run(&t.root);
        assert_caught(
            "check 1",
            &errs,
            &[
                "scaleway_k8s_cluster",
                "missing required argument \"delete_additional_resources\"",
            ],
        );
        assert_caught("check 1", &errs, &["unknown argument", "auto_healing"]);
    }

    #[test]
    fn catches_a_missing_required_argument_in_a_nested_block() {
        let t = BrokenTree::new();
        t.replace("modules/networking/main.tf", "uri    = \"/health\"", "");
        assert_caught(
            "check 1",
            &run(&t.root),
            &["health_check_http", "missing required argument \"uri\""],
        );
    }

    #[test]
    fn catches_a_missing_required_block() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "  destination_config {\n    http_method = \"post\"\n    http_path   = \"/\"\n  }\n",
            "",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &[
                "scaleway_container_trigger",
                "missing required block \"destination_config\"",
            ],
        );
    }

    #[test]
    fn catches_a_deprecated_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "memory_limit_bytes = var.serverless_worker_memory * 1000 * 1000",
            "memory_limit = var.serverless_worker_memory",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["\"memory_limit\" is deprecated"],
        );
    }

    #[test]
    fn catches_a_deprecated_resource_type() {
        let t = BrokenTree::new();
        t.append(
            "modules/observability/main.tf",
            "\nresource \"scaleway_cockpit_grafana_user\" \"ops\" {\n  login = \"ops\"\n  role  = \"editor\"\n}\n",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["resource type \"scaleway_cockpit_grafana_user\" is deprecated"],
        );
    }

    #[test]
    fn catches_a_block_written_as_an_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/messaging/main.tf",
            "  dead_letter_queue {\n    id                = scaleway_mnq_sqs_queue.dlq.id\n    max_receive_count = var.max_receive_count\n  }",
            "  dead_letter_queue = { id = scaleway_mnq_sqs_queue.dlq.id, max_receive_count = var.max_receive_count }",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["\"dead_letter_queue\" is a nested block"],
        );
    }

    #[test]
    fn catches_a_reference_to_a_missing_attribute() {
        let t = BrokenTree::new();
        t.replace(
            "modules/database/main.tf",
            "scaleway_rdb_instance.this.private_network[0].ip",
            "scaleway_rdb_instance.this.private_network[0].ip_address",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &[
                "scaleway_rdb_instance",
                "no attribute \"private_network.ip_address\"",
            ],
        );
    }

    #[test]
    fn catches_a_missing_field_of_a_data_source_object() {
        let t = BrokenTree::new();
        // References are followed into the computed objects of data sources.
        t.append(
            "modules/observability/outputs.tf",
            "\noutput \"x\" {\n  description = \"x\"\n  value       = data.scaleway_cockpit_preconfigured_alert.all[0].alerts[0].rule_id\n}\n",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &[
                "data.scaleway_cockpit_preconfigured_alert",
                "no attribute \"alerts.rule_id\"",
            ],
        );
    }

    #[test]
    fn catches_conflicting_arguments() {
        let t = BrokenTree::new();
        t.replace(
            "modules/networking/main.tf",
            "  ip_ids = [scaleway_lb_ip.this[0].id]\n",
            "  ip_ids = [scaleway_lb_ip.this[0].id]\n  assign_flexible_ip = true\n",
        );
        assert_caught("check 1", &run(&t.root), &["scaleway_lb", "conflicts with"]);
    }

    #[test]
    fn catches_too_many_blocks() {
        let t = BrokenTree::new();
        t.replace(
            "modules/storage/main.tf",
            "  lifecycle_rule {\n",
            "  versioning {\n    enabled = true\n  }\n  versioning {\n    enabled = false\n  }\n\n  lifecycle_rule {\n",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["block \"versioning\" appears 2 times, at most 1"],
        );
    }

    #[test]
    fn catches_an_unset_exactly_one_of_group() {
        let t = BrokenTree::new();
        t.replace(
            "modules/database/main.tf",
            "  password    = var.app_password\n",
            "",
        );
        assert_caught(
            "check 1",
            &run(&t.root),
            &["scaleway_rdb_user", "exactly one of password, password_wo"],
        );
    }

    #[test]
    fn catches_a_wrong_random_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/secrets/main.tf",
            "resource \"random_bytes\" \"paseto_access\" {\n  length = 32",
            "resource \"random_bytes\" \"paseto_access\" {\n  byte_length = 32",
        );
        let errs = run(&t.root);
        assert_caught(
            "check 1",
            &errs,
            &["random_bytes", "unknown argument \"byte_length\""],
        );
        assert_caught(
            "check 1",
            &errs,
            &["random_bytes", "missing required argument \"length\""],
        );
    }
}

// ----------------------------------------------------------------- Check 2

mod check2_modules {
    use super::*;

    #[test]
    fn real_tree_wires_modules_consistently() {
        assert_clean("check 2 (modules)", &check_modules(&tf()));
    }

    #[test]
    fn catches_a_module_call_passing_an_undeclared_variable() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "  read_replica_count = var.read_replica_count\n",
            "  read_replica_count = var.read_replica_count\n  replicas           = 2\n",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &[
                "module \"database\" passes \"replicas\"",
                "does not declare",
            ],
        );
    }

    #[test]
    fn catches_a_missing_required_module_variable() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "  app_password       = module.secrets.db_password\n",
            "",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &[
                "terraform/stack",
                "misses required variable \"app_password\"",
            ],
        );
    }

    #[test]
    fn catches_a_reference_to_a_missing_output() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "module.storage.s3_public_endpoint",
            "module.storage.public_endpoint",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["module.storage.public_endpoint is not an output"],
        );
    }

    #[test]
    fn catches_an_undeclared_variable_reference() {
        let t = BrokenTree::new();
        t.replace(
            "modules/cache/main.tf",
            "node_type    = var.managed_redis_node_type",
            "node_type    = var.redis_node_type",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["var.redis_node_type is not declared"],
        );
    }

    #[test]
    fn catches_an_undeclared_variable_inside_a_string_template() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "name              = \"${var.name_prefix}-combined\"",
            "name              = \"${var.prefix}-combined\"",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["var.prefix is not declared"],
        );
    }

    #[test]
    fn catches_an_undeclared_resource_reference() {
        let t = BrokenTree::new();
        t.replace(
            "modules/networking/main.tf",
            "backend_id      = scaleway_lb_backend.api[0].id",
            "backend_id      = scaleway_lb_backend.web[0].id",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["resource scaleway_lb_backend.web is not declared"],
        );
    }

    #[test]
    fn catches_an_unused_variable() {
        let t = BrokenTree::new();
        t.replace(
            "environments/dev/main.tf",
            "  lb_type                           = var.lb_type\n",
            "",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &[
                "environments/dev",
                "variable \"lb_type\" is declared but never used",
            ],
        );
    }

    #[test]
    fn catches_a_secret_that_is_not_sensitive() {
        let t = BrokenTree::new();
        t.replace(
            "modules/messaging/outputs.tf",
            "  value       = scaleway_mnq_sqs_credentials.publish.secret_key\n  sensitive   = true\n",
            "  value       = scaleway_mnq_sqs_credentials.publish.secret_key\n",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["output \"publish_secret_key\" holds a secret but is not sensitive"],
        );
    }

    #[test]
    fn catches_an_unpinned_provider() {
        let t = BrokenTree::new();
        t.replace(
            "modules/secrets/versions.tf",
            "version = \">= 3.6, < 4.0\"",
            "version = \"~> 3.6\"",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &["modules/secrets", "provider \"random\"", "not pinned"],
        );
    }

    #[test]
    fn catches_a_provider_missing_from_required_providers() {
        let t = BrokenTree::new();
        t.append(
            "modules/dns/main.tf",
            "\nresource \"random_id\" \"x\" {\n  byte_length = 8\n}\n",
        );
        assert_caught(
            "check 2",
            &check_modules(&t.root),
            &[
                "modules/dns",
                "provider \"random\" is used but not in required_providers",
            ],
        );
    }

    #[test]
    fn catches_a_variable_without_type_or_description() {
        let t = BrokenTree::new();
        t.append(
            "modules/dns/variables.tf",
            "\nvariable \"untyped\" {\n  default = 1\n}\n",
        );
        let errs = check_modules(&t.root);
        assert_caught("check 2", &errs, &["variable \"untyped\" has no type"]);
        assert_caught(
            "check 2",
            &errs,
            &["variable \"untyped\" has no description"],
        );
    }
}

// ----------------------------------------------------------------- Check 3

mod check3_tfvars {
    use super::*;

    #[test]
    fn real_scenarios_set_only_declared_variables() {
        assert_clean("check 3 (tfvars)", &check_tfvars(&tf()));
    }

    #[test]
    fn catches_a_scenario_setting_an_undeclared_variable() {
        let t = BrokenTree::new();
        t.append(
            "environments/dev/scenarios/04-managed-redis.tfvars",
            "redis_node_type = \"RED1-S\"\n",
        );
        assert_caught(
            "check 3",
            &check_tfvars(&t.root),
            &[
                "04-managed-redis.tfvars",
                "sets \"redis_node_type\"",
                "does not declare",
            ],
        );
    }

    #[test]
    fn catches_a_value_of_the_wrong_type() {
        let t = BrokenTree::new();
        t.replace(
            "environments/dev/scenarios/03-load-balancer-multi-api.tfvars",
            "api_instance_count   = 2",
            "api_instance_count   = \"two\"",
        );
        assert_caught(
            "check 3",
            &check_tfvars(&t.root),
            &["\"api_instance_count\"", "declared number"],
        );
    }

    /// Each scenario file holds exactly the seed's variable changes.
    #[test]
    fn scenario_files_hold_exactly_the_seeds_changes() {
        let dir = tf().join("environments/dev/scenarios");
        for (file, expected) in seed_scenarios() {
            let body = parse_file(&dir.join(file)).unwrap();
            let got: Vec<(String, Value)> = body
                .attributes()
                .map(|a| (a.key().to_string(), literal(a.expr()).expect("literal")))
                .collect();
            let want: Vec<(String, Value)> = expected
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            assert_eq!(got, want, "{file} differs from the seed");
        }
    }

    /// Applying any scenario on top of dev yields values the environment
    /// accepts as-is (every scenario variable resolves through dev's modules).
    #[test]
    fn every_scenario_reaches_a_module_input() {
        let env_dir = dev(&tf());
        let env = Env::load(&env_dir, &[]).unwrap();
        let mut inputs = std::collections::BTreeSet::new();
        for (_, call) in env.tf.blocks("module") {
            for a in call.body().attributes() {
                for r in references(a.expr()) {
                    if r.root == "var" {
                        inputs.insert(r.first_attr().unwrap_or_default().to_string());
                    }
                }
            }
        }
        for (file, changes) in seed_scenarios() {
            for (var, _) in changes {
                assert!(
                    inputs.contains(var),
                    "{file}: var.{var} is declared by dev but not wired into any module"
                );
            }
        }
    }
}

// ----------------------------------------------------------------- Check 4

mod check4_dev_values {
    use super::*;

    #[test]
    fn dev_matches_the_seed_table() {
        assert_clean(
            "check 4 (dev table)",
            &check_env_values(&dev(&tf()), &seed_dev_table()),
        );
    }

    #[test]
    fn staging_has_the_same_shape_as_dev() {
        assert_clean(
            "check 4 (staging = dev table)",
            &check_env_values(&tf().join("environments/staging"), &seed_dev_table()),
        );
    }

    #[test]
    fn prod_is_scenario_8() {
        let prod = Env::load(&tf().join("environments/prod"), &[]).unwrap();
        let (_, changes) = seed_scenarios()
            .into_iter()
            .find(|(file, _)| file.starts_with("08-"))
            .unwrap();
        for (var, value) in changes {
            assert_eq!(
                prod.module_input("stack", var).unwrap(),
                value,
                "prod stack.{var}"
            );
        }
    }

    /// A scenario's variable reaches the module through the stack, over the
    /// seed value dev's main.tf gives, and an unset one keeps that value.
    #[test]
    fn a_scenario_overrides_the_dev_table() {
        let dir = dev(&tf());
        let s1 = dir.join("scenarios/01-upgrade-combined-instance.tfvars");
        let env = Env::load(&dir, &[s1]).unwrap();
        assert_eq!(
            env.module_input("compute", "combined_instance_type")
                .unwrap(),
            s("DEV1-L")
        );
        assert_eq!(
            env.module_input("compute", "embedded_redis_maxmemory_mb")
                .unwrap(),
            n(1024)
        );
        assert_eq!(
            env.module_input("networking", "enable_bastion").unwrap(),
            b(true)
        );
    }

    #[test]
    fn catches_a_dev_default_that_drifted_from_the_seed() {
        let t = BrokenTree::new();
        t.replace(
            "environments/dev/main.tf",
            "coalesce(var.combined_instance_type, \"DEV1-M\")",
            "coalesce(var.combined_instance_type, \"DEV1-L\")",
        );
        assert_caught(
            "check 4",
            &check_env_values(&dev(&t.root), &seed_dev_table()),
            &["compute.combined_instance_type is \"DEV1-L\"", "\"DEV1-M\""],
        );
    }

    #[test]
    fn catches_a_hardcoded_module_argument() {
        let t = BrokenTree::new();
        t.replace(
            "environments/dev/main.tf",
            "enable_alerts               = coalesce(var.enable_alerts, false)",
            "enable_alerts               = true",
        );
        assert_caught(
            "check 4",
            &check_env_values(&dev(&t.root), &seed_dev_table()),
            &["observability.enable_alerts is true"],
        );
    }
}

// ----------------------------------------------------------------- Check 5

mod check5_env_wiring {
    use super::*;

    #[test]
    fn serverless_and_api_envs_are_wired_per_the_seed() {
        assert_clean("check 5 (env wiring)", &check_api_env(&tf()));
    }

    /// Issue 25, finding 12: the moderation credential on a worker, and a
    /// worker mode whose /metrics would be open.
    #[test]
    fn catches_the_admin_token_on_a_worker_and_a_worker_without_the_metrics_token() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    METRICS_TOKEN = var.metrics_token\n",
            "    ADMIN_TOKEN = var.admin_token\n",
        );
        t.replace(
            "modules/compute/main.tf",
            "    METRICS_TOKEN         = var.metrics_token\n",
            "    ADMIN_TOKEN           = var.admin_token\n",
        );
        let errs = check_api_env(&t.root);
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_instance_server.worker", "holds ADMIN_TOKEN"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_instance_server.worker", "lacks METRICS_TOKEN"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_container.media_processor", "holds ADMIN_TOKEN"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_container.media_processor", "lacks METRICS_TOKEN"],
        );
    }

    #[test]
    fn catches_a_cdn_purge_setting_the_api_does_not_get() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "CDN_PURGE_SECRET_KEY = var.cdn_purge_secret_key",
            "CDN_PURGE_SECRET = var.cdn_purge_secret_key",
        );
        assert_caught(
            "check 5",
            &check_api_env(&t.root),
            &["the API env lacks CDN_PURGE_SECRET_KEY"],
        );
    }

    #[test]
    fn catches_redis_url_in_the_serverless_secrets() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    DATABASE_URL          = var.database_url\n",
            "    DATABASE_URL          = var.database_url\n    REDIS_URL             = local.redis_url\n",
        );
        assert_caught(
            "check 5",
            &check_api_env(&t.root),
            &["secret_environment_variables holds REDIS_URL"],
        );
    }

    #[test]
    fn catches_paseto_and_queue_in_the_serverless_env() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    DATABASE_URL          = var.database_url\n",
            "    DATABASE_URL          = var.database_url\n    PASETO_ACCESS_KEY     = var.paseto_access_key\n",
        );
        t.replace(
            "modules/compute/main.tf",
            "    APP_MODE                = \"serverless-worker\"\n",
            "    APP_MODE                = \"serverless-worker\"\n    QUEUE_NAME         = var.queue_name\n",
        );
        let errs = check_api_env(&t.root);
        assert_caught(
            "check 5",
            &errs,
            &["secret_environment_variables holds PASETO_ACCESS_KEY"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["environment_variables holds QUEUE_NAME"],
        );
    }

    #[test]
    fn catches_an_api_env_missing_a_seed_row() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    PASETO_REFRESH_KEY       = var.paseto_refresh_key\n",
            "",
        );
        let errs = check_api_env(&t.root);
        assert_caught(
            "check 5",
            &errs,
            &[
                "scaleway_instance_server.combined",
                "lacks PASETO_REFRESH_KEY",
            ],
        );
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_instance_server.api", "lacks PASETO_REFRESH_KEY"],
        );
    }

    #[test]
    fn catches_an_api_instance_not_rendering_the_api_env() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    run_migrations     = i == 0\n",
            "    run_migrations     = i == 0\n    env                = local.worker_env\n",
        );
        let errs = check_api_env(&t.root);
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_instance_server.api", "lacks REDIS_URL"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["scaleway_instance_server.api", "APP_MODE must be \"api\""],
        );
    }

    #[test]
    fn catches_a_template_that_ignores_the_env() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/templates/app-cloud-init.yaml.tftpl",
            "content: ${jsonencode(join(\"\\n\", [for k in sort(keys(env)) : \"${k}=${env[k]}\"]))}",
            "content: \"\"",
        );
        assert_caught("check 5", &check_api_env(&t.root), &["never uses `env`"]);
    }

    #[test]
    fn catches_a_secret_moved_to_plain_env() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    AWS_SECRET_ACCESS_KEY = var.s3_secret_key\n  }",
            "  }",
        );
        t.replace(
            "modules/compute/main.tf",
            "    APP_MODE                = \"serverless-worker\"\n",
            "    APP_MODE                = \"serverless-worker\"\n    AWS_SECRET_ACCESS_KEY = var.s3_secret_key\n",
        );
        let errs = check_api_env(&t.root);
        assert_caught(
            "check 5",
            &errs,
            &["secret_environment_variables lacks AWS_SECRET_ACCESS_KEY"],
        );
        assert_caught(
            "check 5",
            &errs,
            &["AWS_SECRET_ACCESS_KEY must be a secret"],
        );
    }
}

// ----------------------------------------------------------------- Check 6

mod check6_queue {
    use super::*;

    #[test]
    fn visibility_exceeds_container_timeout_and_dlq_exists() {
        assert_clean("check 6 (queue)", &check_queue(&tf()));
    }

    #[test]
    fn catches_a_visibility_timeout_below_the_container_timeout() {
        let t = BrokenTree::new();
        t.replace(
            "stack/variables.tf",
            "default     = 960",
            "default     = 120",
        );
        assert_caught(
            "check 6",
            &check_queue(&t.root),
            &[
                "environments/prod",
                "visibility timeout (120s) must cover the SQS trigger's worst case",
            ],
        );
    }

    #[test]
    fn catches_a_scenario_that_breaks_the_timeout_order() {
        let t = BrokenTree::new();
        t.append(
            "environments/dev/scenarios/06-scale-serverless-worker.tfvars",
            "serverless_worker_timeout_seconds = 600\n",
        );
        assert_caught(
            "check 6",
            &check_queue(&t.root),
            &[
                "06-scale-serverless-worker.tfvars",
                "(960s) must cover the SQS trigger's worst case, 3 attempts x the container timeout (600s) + 60s = 1860s",
            ],
        );
    }

    #[test]
    fn catches_a_missing_dead_letter_queue() {
        let t = BrokenTree::new();
        t.replace(
            "modules/messaging/main.tf",
            "  dead_letter_queue {\n    id                = scaleway_mnq_sqs_queue.dlq.id\n    max_receive_count = var.max_receive_count\n  }\n",
            "",
        );
        assert_caught(
            "check 6",
            &check_queue(&t.root),
            &["no scaleway_mnq_sqs_queue has a dead_letter_queue"],
        );
    }

    #[test]
    fn catches_dead_letters_that_reach_no_one() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "    http_path   = \"/dead-letters\"",
            "    http_path   = \"/\"",
        );
        assert_caught(
            "check 6",
            &check_queue(&t.root),
            &["no scaleway_container_trigger POSTs the dead-letter queue"],
        );
    }

    #[test]
    fn catches_a_dead_letter_queue_without_max_receive_count() {
        let t = BrokenTree::new();
        t.replace(
            "modules/messaging/main.tf",
            "    max_receive_count = var.max_receive_count\n",
            "",
        );
        assert_caught(
            "check 6",
            &check_queue(&t.root),
            &["dead_letter_queue has no max_receive_count"],
        );
    }
}

// ----------------------------------------------------------------- Check 7

mod check7_pitfalls {
    use super::*;

    #[test]
    fn real_tree_avoids_the_provider_pitfalls() {
        assert_clean("check 7 (pitfalls)", &check_pitfalls(&tf()));
    }

    #[test]
    fn catches_a_cloud_init_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/cache/main.tf",
            "  user_data = {\n    \"cloud-init\" = local.redis_cloud_init\n  }",
            "  cloud_init = local.redis_cloud_init",
        );
        assert_caught(
            "check 7",
            &check_pitfalls(&t.root),
            &["scaleway_instance_server.redis sets cloud_init"],
        );
    }

    #[test]
    fn catches_the_first_private_ip() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/outputs.tf",
            "[for ip in s.private_ips : ip.address if !strcontains(ip.address, \":\")][0]",
            "s.private_ips[0].address",
        );
        assert_caught(
            "check 7",
            &check_pitfalls(&t.root),
            &[
                "modules/compute/outputs.tf",
                "private_ips[...] may be the IPv6 address",
            ],
        );
    }

    #[test]
    fn catches_a_managed_redis_version_that_is_not_offered() {
        let t = BrokenTree::new();
        t.replace(
            "modules/cache/variables.tf",
            "default     = \"8.6.3\"",
            "default     = \"7.2.5\"",
        );
        assert_caught(
            "check 7",
            &check_pitfalls(&t.root),
            &[
                "environments/prod",
                "managed Redis version \"7.2.5\" is not one Scaleway offers",
            ],
        );
    }

    #[test]
    fn catches_a_scenario_asking_for_a_redis_version_that_is_not_offered() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "  managed_redis_node_type = var.managed_redis_node_type\n",
            "  managed_redis_node_type = var.managed_redis_node_type\n  managed_redis_version   = var.managed_redis_version\n",
        );
        t.append(
            "stack/variables.tf",
            "\nvariable \"managed_redis_version\" {\n  type        = string\n  description = \"x\"\n  default     = \"8.6.3\"\n  nullable    = false\n}\n",
        );
        t.replace(
            "environments/dev/main.tf",
            "  lb_type                           = var.lb_type\n",
            "  lb_type                           = var.lb_type\n  managed_redis_version             = var.managed_redis_version\n",
        );
        t.append(
            "environments/dev/variables.tf",
            "\nvariable \"managed_redis_version\" {\n  type        = string\n  description = \"x\"\n  default     = null\n}\n",
        );
        t.append(
            "environments/dev/scenarios/04-managed-redis.tfvars",
            "managed_redis_version = \"7.2.11\"\n",
        );
        let errs = check_pitfalls(&t.root);
        assert_caught(
            "check 7",
            &errs,
            &[
                "04-managed-redis.tfvars",
                "\"7.2.11\" is not one Scaleway offers",
            ],
        );
        assert!(
            !errs.iter().any(|e| e.contains("01-upgrade")),
            "only the scenario that sets the version is reported: {errs:?}"
        );
    }
}

// ----------------------------------------------------------------- Check 8

mod check8_mail {
    use super::*;

    #[test]
    fn real_tree_wires_account_mail() {
        assert_clean("check 8 (mail)", &check_mail(&tf()));
    }

    #[test]
    fn catches_a_smtp_key_with_more_than_tem_rights() {
        let t = BrokenTree::new();
        t.replace(
            "modules/mail/main.tf",
            "permission_set_names = [\"TransactionalEmailEmailSmtpCreate\"]",
            "permission_set_names = [\"TransactionalEmailEmailSmtpCreate\", \"ObjectStorageFullAccess\"]",
        );
        assert_caught(
            "check 8",
            &check_mail(&t.root),
            &[
                "grants \"ObjectStorageFullAccess\"",
                "more than Transactional Email",
            ],
        );
    }

    #[test]
    fn catches_smtp_url_as_a_plain_container_variable() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "  }, var.enable_mail ? { SMTP_URL = var.smtp_url } : {})",
            "  })",
        );
        t.replace(
            "modules/compute/main.tf",
            "    MAIL_FROM         = var.mail_from\n    APP_LINK_BASE_URL = var.app_link_base_url\n  } : {})",
            "    MAIL_FROM         = var.mail_from\n    APP_LINK_BASE_URL = var.app_link_base_url\n    SMTP_URL          = var.smtp_url\n  } : {})",
        );
        let errs = check_mail(&t.root);
        assert_caught(
            "check 8",
            &errs,
            &["SMTP_URL is a plain environment variable"],
        );
        assert_caught(
            "check 8",
            &errs,
            &["secret_environment_variables lacks SMTP_URL"],
        );
    }

    #[test]
    fn catches_a_missing_dkim_record_and_an_early_validation() {
        let t = BrokenTree::new();
        t.replace(
            "modules/dns/main.tf",
            "  name     = var.mail_dkim_name",
            "  name     = \"${var.mail_dmarc_name}-x\"",
        );
        t.replace(
            "modules/dns/main.tf",
            "    scaleway_domain_record.mail_mx,\n",
            "",
        );
        let errs = check_mail(&t.root);
        assert_caught("check 8", &errs, &["no DKIM record"]);
        assert_caught(
            "check 8",
            &errs,
            &["does not wait for scaleway_domain_record.mail_mx"],
        );
    }

    #[test]
    fn catches_smtp_url_kept_out_of_secret_manager() {
        let t = BrokenTree::new();
        t.replace(
            "modules/mail/main.tf",
            "  data        = local.smtp_url\n",
            "  data        = \"placeholder\"\n",
        );
        assert_caught(
            "check 8",
            &check_mail(&t.root),
            &["is not stored in a scaleway_secret_version"],
        );
    }
}

mod check9_deploy {
    use super::*;

    fn workflows(root: &Path) -> Vec<std::path::PathBuf> {
        files_with_ext(&root.join(".github/workflows"), ".yml")
    }

    #[test]
    fn real_tree_passes_the_deploy_rules() {
        assert_clean("check 9 (fqdn names)", &check_fqdn_names(&tf()));
        assert_clean(
            "check 9 (workflow -var)",
            &check_workflow_vars(&tf(), &workflows(&repo_root())),
        );
        assert_clean(
            "check 9 (nullable required)",
            &check_nullable_required(&tf(), &bundled_schema()),
        );
        assert_clean("check 9 (image tag)", &check_image_not_in_triggers(&tf()));
        assert_clean("check 9 (gateway)", &check_gateway_dependencies(&tf()));
    }

    #[test]
    fn the_workflow_passes_vars_the_rule_sees() {
        let vars: Vec<String> = workflows(&repo_root())
            .iter()
            .flat_map(|w| cli_vars(&std::fs::read_to_string(w).unwrap()))
            .map(|(_, v)| v)
            .collect();
        assert!(vars.contains(&"image_tag".to_string()), "{vars:?}");
        assert_eq!(
            cli_vars("terraform plan -var \"a=1\" -var b=2 -var='c=3' -var-file=x.tfvars"),
            vec![(1, "a".into()), (1, "b".into()), (1, "c".into())]
        );
    }

    #[test]
    fn catches_a_dkim_name_glued_to_a_suffix() {
        let t = BrokenTree::new();
        t.replace(
            "modules/dns/main.tf",
            "  name     = var.mail_dkim_name",
            "  name     = \"${var.mail_dkim_name}.${var.mail_subdomain}\"",
        );
        assert_caught(
            "check 9",
            &check_fqdn_names(&t.root),
            &[
                "scaleway_domain_record.mail_dkim",
                "var.mail_dkim_name",
                "fully qualified",
            ],
        );
    }

    #[test]
    fn catches_a_dmarc_name_rewritten_on_the_way() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "  mail_dmarc_name  = module.mail.dmarc_name",
            "  mail_dmarc_name  = trimsuffix(module.mail.dmarc_name, \".\")",
        );
        assert_caught(
            "check 9",
            &check_fqdn_names(&t.root),
            &["mail_dmarc_name", "dmarc_name is returned fully qualified"],
        );
    }

    #[test]
    fn catches_a_workflow_var_an_environment_does_not_declare() {
        let t = BrokenTree::new();
        t.replace(
            "environments/staging/variables.tf",
            "variable \"image_tag\" {",
            "variable \"image_tag_renamed\" {",
        );
        t.replace(
            "environments/staging/main.tf",
            "var.image_tag",
            "var.image_tag_renamed",
        );
        assert_caught(
            "check 9",
            &check_workflow_vars(&t.root, &workflows(&repo_root())),
            &["-var image_tag", "terraform/environments/staging"],
        );
    }

    #[test]
    fn catches_a_possibly_null_address_in_an_uncounted_record() {
        let t = BrokenTree::new();
        t.replace(
            "modules/dns/main.tf",
            "  count = var.api_record ? 1 : 0\n",
            "",
        );
        t.replace(
            "modules/dns/outputs.tf",
            "scaleway_domain_record.api[0].fqdn",
            "scaleway_domain_record.api.fqdn",
        );
        assert_caught(
            "check 9",
            &check_nullable_required(&t.root, &bundled_schema()),
            &[
                "scaleway_domain_record.api needs data",
                "var.api_ip",
                "may be null",
            ],
        );
    }

    #[test]
    fn catches_a_possibly_null_value_passed_to_a_variable_without_default() {
        let t = BrokenTree::new();
        t.replace(
            "modules/dns/main.tf",
            "  count = var.api_record ? 1 : 0\n",
            "",
        );
        t.replace(
            "modules/dns/variables.tf",
            "  type        = string\n  description = \"IPv4 the API record points at: the LB's (instances' or scenario 9's), the gateway's when it forwards the API port, or the combined/API instance's.\"\n  default     = null\n",
            "  type        = string\n  description = \"IPv4 the API record points at.\"\n",
        );
        assert_caught(
            "check 9",
            &check_nullable_required(&t.root, &bundled_schema()),
            &["var.api_ip", "terraform/stack passes a possibly-null value"],
        );
    }

    #[test]
    fn catches_the_image_in_a_hosts_replacement_hash() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "  input = local.api_config_hash[count.index]",
            "  input = sha256(local.api_cloud_init[count.index])",
        );
        assert_caught(
            "check 9",
            &check_image_not_in_triggers(&t.root),
            &[
                "scaleway_instance_server.api",
                "terraform_data.api_cloud_init",
                "image tag",
            ],
        );
    }

    #[test]
    fn catches_the_image_tag_in_a_replacing_argument() {
        let t = BrokenTree::new();
        t.replace(
            "modules/compute/main.tf",
            "  tags              = concat(local.tags, [\"worker\"])",
            "  tags              = concat(local.tags, [\"worker\", var.image_tag])",
        );
        let errs = check_image_not_in_triggers(&t.root);
        assert!(errs.is_empty(), "tags change in place: {errs:?}");
        t.replace(
            "modules/compute/main.tf",
            "  type              = var.worker_instance_type\n",
            "  type              = var.worker_instance_type\n  placement_group_id = local.image\n",
        );
        assert_caught(
            "check 9",
            &check_image_not_in_triggers(&t.root),
            &[
                "scaleway_instance_server.worker's placement_group_id",
                "image tag",
            ],
        );
    }

    #[test]
    fn catches_a_private_host_that_does_not_wait_for_the_gateway() {
        let t = BrokenTree::new();
        t.replace(
            "modules/cache/main.tf",
            "  depends_on = [terraform_data.gateway_network]\n",
            "",
        );
        assert_caught(
            "check 9",
            &check_gateway_dependencies(&t.root),
            &["scaleway_instance_server.redis", "gateway network"],
        );
    }

    #[test]
    fn catches_a_node_pool_whose_gateway_input_is_not_wired() {
        let t = BrokenTree::new();
        t.replace(
            "stack/main.tf",
            "  gateway_network_id = module.networking.gateway_network_id\n  node_type",
            "  node_type",
        );
        assert_caught(
            "check 9",
            &check_gateway_dependencies(&t.root),
            &["scaleway_k8s_pool.app", "gateway network"],
        );
    }
}

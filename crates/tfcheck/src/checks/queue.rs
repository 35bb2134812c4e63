use crate::*;

/// Check 6: the jobs queue has a dead-letter queue (another queue, with a
/// max receive count) whose messages a container trigger POSTs to the
/// worker's dead-letter path and, in every environment and every dev
/// scenario, its visibility timeout covers the trigger's worst case (three
/// attempts of the serverless container's timeout, plus a margin).
pub fn check_queue(tf_root: &Path) -> Vec<String> {
    let mut errs = check_dead_letter_trigger(tf_root);
    let messaging = match TfDir::load(&tf_root.join("modules/messaging")) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let name = messaging.name();
    let queues: Vec<&Block> = messaging
        .blocks("resource")
        .map(|(_, b)| b)
        .filter(|b| label(b, 0) == Some("scaleway_mnq_sqs_queue"))
        .collect();
    let mut jobs_queue = None;
    for q in &queues {
        let Some(dlq) = q
            .body()
            .blocks()
            .find(|b| b.identifier() == "dead_letter_queue")
        else {
            continue;
        };
        let qname = label(q, 1).unwrap_or("?");
        let target = attr(dlq.body(), "id").map(references).unwrap_or_default();
        let points_to_queue = target.iter().any(|r| {
            r.root == "scaleway_mnq_sqs_queue" && r.first_attr().is_some_and(|n| n != qname)
        });
        if !points_to_queue {
            errs.push(format!(
                "{name}: scaleway_mnq_sqs_queue.{qname}: dead_letter_queue.id must reference another scaleway_mnq_sqs_queue"
            ));
        }
        if attr(dlq.body(), "max_receive_count").is_none() {
            errs.push(format!(
                "{name}: scaleway_mnq_sqs_queue.{qname}: dead_letter_queue has no max_receive_count"
            ));
        }
        jobs_queue = Some(qname.to_string());
    }
    let Some(jobs_queue) = jobs_queue else {
        errs.push(format!(
            "{name}: no scaleway_mnq_sqs_queue has a dead_letter_queue (DLQ)"
        ));
        return errs;
    };

    let cases = crate::checks::pitfalls::environment_cases(tf_root);
    for (env_dir, tfvars) in cases {
        let env = match Env::load(&env_dir, &tfvars) {
            Ok(e) => e,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let vis = env.module_resource_attr(
            "messaging",
            ("scaleway_mnq_sqs_queue", &jobs_queue),
            "visibility_timeout_seconds",
        );
        let timeout = env.module_resource_attr(
            "compute",
            ("scaleway_container", "media_processor"),
            "timeout",
        );
        match (vis.as_ref().map(as_f64), timeout.as_ref().map(as_f64)) {
            (Ok(Some(v)), Ok(Some(t))) if v >= trigger_worst_case(t) => {}
            (Ok(Some(v)), Ok(Some(t))) => errs.push(format!(
                "{}: queue visibility timeout ({v}s) must cover the SQS trigger's worst case, \
                 {TRIGGER_ATTEMPTS} attempts x the container timeout ({t}s) + {TRIGGER_MARGIN_SECONDS}s = {}s",
                env.label,
                trigger_worst_case(t)
            )),
            (Err(e), _) | (_, Err(e)) => errs.push(e.clone()),
            _ => errs.push(format!("{}: timeouts are not numbers", env.label)),
        }
    }
    errs
}

/// Scaleway's SQS trigger POSTs a message up to three times while the
/// container answers a status >= 300; the message must stay invisible for all
/// of them, or it is delivered again while still being retried.
pub const TRIGGER_ATTEMPTS: f64 = 3.0;
/// Slack for the trigger's own delays between attempts.
pub const TRIGGER_MARGIN_SECONDS: f64 = 60.0;

fn trigger_worst_case(timeout: f64) -> f64 {
    TRIGGER_ATTEMPTS * timeout + TRIGGER_MARGIN_SECONDS
}

/// The worker's default `WORKER_DEAD_LETTER_PATH`.
const DEAD_LETTER_PATH: &str = "/dead-letters";

/// Without a consumer, a dead-lettered job's photo would stay `processing`.
fn check_dead_letter_trigger(tf_root: &Path) -> Vec<String> {
    let compute = match TfDir::load(&tf_root.join("modules/compute")) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let delivers_dead_letters = compute
        .blocks("resource")
        .map(|(_, b)| b)
        .filter(|b| label(b, 0) == Some("scaleway_container_trigger"))
        .any(|trigger| {
            let body = trigger.body();
            let block = |name: &str| body.blocks().find(|b| b.identifier() == name);
            let from_dlq = block("sqs")
                .and_then(|sqs| attr(sqs.body(), "queue_url"))
                .map(references)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.root == "var" && r.first_attr() == Some("dlq_url"))
                });
            let to_path = block("destination_config")
                .and_then(|d| attr(d.body(), "http_path"))
                .and_then(literal);
            from_dlq && to_path == Some(Value::String(DEAD_LETTER_PATH.into()))
        });
    if delivers_dead_letters {
        Vec::new()
    } else {
        vec![format!(
            "{}: no scaleway_container_trigger POSTs the dead-letter queue (var.dlq_url) to {DEAD_LETTER_PATH}",
            compute.name()
        )]
    }
}

pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

//! The API's latency as `/metrics` exposes it: Prometheus histograms,
//! summed over every URL and series, and their p95.

/// p95 of the summed `http_request_duration_seconds` histograms of every
/// URL, since each process started.
pub(super) async fn api_p95(
    http: &reqwest::Client,
    urls: &[String],
    token: Option<&str>,
) -> Result<(f64, String), String> {
    if urls.is_empty() {
        return Err("unmeasured: no --metrics-url given".into());
    }
    let mut buckets = Buckets::default();
    for url in urls {
        let mut request = http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("unmeasured: {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("unmeasured: {url} answered {status}"));
        }
        let text = response
            .text()
            .await
            .map_err(|e| format!("unmeasured: {url}: {e}"))?;
        buckets.add_exposition(&text, "http_request_duration_seconds");
    }
    let count = buckets.count();
    let p95 = buckets
        .quantile(0.95)
        .ok_or_else(|| format!("unmeasured: no requests recorded at {}", urls.join(", ")))?;
    Ok((
        p95,
        format!(
            "{count:.0} requests at {} URL(s), since each process started",
            urls.len()
        ),
    ))
}

/// Cumulative histogram buckets summed over series: upper bound → count.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Buckets {
    by_bound: Vec<(f64, f64)>,
}

impl Buckets {
    /// Adds the `<name>_bucket` series of a Prometheus text exposition.
    pub fn add_exposition(&mut self, text: &str, name: &str) {
        let prefix = format!("{name}_bucket{{");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once('}') else {
                continue;
            };
            let Some(le) = labels.split(',').find_map(|l| {
                l.trim()
                    .strip_prefix("le=\"")
                    .and_then(|v| v.strip_suffix('"'))
            }) else {
                continue;
            };
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                match le.parse::<f64>() {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            };
            // "value" or "value timestamp".
            let Some(count) = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            else {
                continue;
            };
            self.add(bound, count);
        }
    }

    fn add(&mut self, bound: f64, count: f64) {
        match self.by_bound.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, c)) => *c += count,
            None => {
                self.by_bound.push((bound, count));
                self.by_bound.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// Observations in all (the `+Inf` bucket).
    pub fn count(&self) -> f64 {
        self.by_bound.last().map_or(0.0, |&(_, c)| c)
    }

    /// Prometheus's `histogram_quantile`: linear within the bucket; a rank
    /// in the `+Inf` bucket answers the highest finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut previous = (0.0, 0.0);
        for &(bound, count) in &self.by_bound {
            if count >= rank {
                if bound.is_infinite() {
                    return Some(previous.0);
                }
                let in_bucket = count - previous.1;
                if in_bucket <= 0.0 {
                    return Some(bound);
                }
                return Some(previous.0 + (bound - previous.0) * (rank - previous.1) / in_bucket);
            }
            previous = (bound, count);
        }
        Some(previous.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(buckets: &[(&str, u64)]) -> String {
        buckets
            .iter()
            .map(|(le, n)| {
                format!(
                    "http_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"{le}\"}} {n}\n"
                )
            })
            .collect()
    }

    #[test]
    fn p95_interpolates_within_the_bucket_like_prometheus() {
        let mut b = Buckets::default();
        b.add_exposition(
            &exposition(&[("0.1", 50), ("0.5", 90), ("1", 100), ("+Inf", 100)]),
            "http_request_duration_seconds",
        );
        // rank 95 lies halfway through the 0.5..1 bucket (90..100).
        assert!((b.quantile(0.95).unwrap() - 0.75).abs() < 1e-9);
        assert_eq!(b.count(), 100.0);
    }

    #[test]
    fn series_and_urls_add_up_and_other_metrics_are_ignored() {
        let mut b = Buckets::default();
        let text = format!(
            "# TYPE http_request_duration_seconds histogram\n{}{}media_job_duration_seconds_bucket{{le=\"0.1\"}} 999\n",
            exposition(&[("0.1", 10), ("+Inf", 10)]),
            exposition(&[("0.1", 0), ("+Inf", 10)]),
        );
        b.add_exposition(&text, "http_request_duration_seconds");
        assert_eq!(b.count(), 20.0);
        // Half the requests took longer than 0.1 s: the +Inf bucket answers
        // the highest finite bound.
        assert_eq!(b.quantile(0.95), Some(0.1));
        assert_eq!(Buckets::default().quantile(0.95), None);
    }
}

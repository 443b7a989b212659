//! Per-controller metrics, named as controller-runtime names them (operator
//! dashboards already know them), plus the leader-election gauge; served
//! by the API server's `/metrics` next to its own.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaderLabels {
    name: String,
}

/// Shared by every controller of a runtime. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    reconciles: Family<ReconcileLabels, Counter>,
    errors: Family<ControllerLabels, Counter>,
    leader: Family<LeaderLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Add these metrics to `registry` (the API server's).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            self.inner.reconciles.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            self.inner.errors.clone(),
        );
        registry.register(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
            self.inner.leader.clone(),
        );
    }

    /// Count one reconciliation of `controller`.
    pub fn reconciled(&self, controller: &str, ok: bool) {
        let result = if ok { "success" } else { "error" };
        self.inner
            .reconciles
            .get_or_create(&ReconcileLabels {
                controller: controller.to_string(),
                result: result.to_string(),
            })
            .inc();
        if !ok {
            self.inner
                .errors
                .get_or_create(&ControllerLabels {
                    controller: controller.to_string(),
                })
                .inc();
        }
    }

    pub(crate) fn set_leader(&self, lease: &str, leading: bool) {
        self.inner
            .leader
            .get_or_create(&LeaderLabels {
                name: lease.to_string(),
            })
            .set(i64::from(leading));
    }

    /// A `for_each` body for a controller's result stream: counts each
    /// reconciliation of `controller` (and logs failures at debug level).
    pub fn count<T, E>(
        &self,
        controller: &'static str,
    ) -> impl FnMut(Result<T, E>) -> std::future::Ready<()>
    where
        E: std::fmt::Display,
    {
        let metrics = self.clone();
        move |res| {
            if let Err(e) = &res {
                tracing::debug!(controller, error = %e, "reconcile failed");
            }
            metrics.reconciled(controller, res.is_ok());
            std::future::ready(())
        }
    }

    /// Drive a controller's result stream (`Controller::run(..)`) to its
    /// end, counting each reconciliation.
    pub async fn drive<S, T, E>(&self, controller: &str, stream: S)
    where
        S: Stream<Item = Result<T, E>>,
        E: std::fmt::Display,
    {
        stream
            .for_each(|res| {
                if let Err(e) = &res {
                    tracing::debug!(controller, error = %e, "reconcile failed");
                }
                self.reconciled(controller, res.is_ok());
                async {}
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drive_counts_successes_and_errors() {
        let m = Metrics::default();
        let results: Vec<Result<(), String>> = vec![Ok(()), Err("boom".into()), Ok(())];
        m.drive("demo", futures::stream::iter(results)).await;
        let mut reg = Registry::default();
        m.register(&mut reg);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).expect("encode");
        assert!(
            text.contains(
                r#"controller_runtime_reconcile_total{controller="demo",result="success"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"controller_runtime_reconcile_errors_total{controller="demo"} 1"#),
            "{text}"
        );
    }
}

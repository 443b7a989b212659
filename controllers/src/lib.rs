//! ferrokube's built-in controllers and the runtime that hosts them and user
//! operators. Every controller is a kube-runtime reconciler (or watch loop)
//! talking to the API server through a [`kube::Client`], exactly as an
//! operator would: the controllers never see the server's internals.
//!
//! Run them with [`Runtime`]:
//!
//! ```no_run
//! # async fn demo(client: kube::Client) {
//! let handle = controllers::Runtime::new(client, controllers::Config::default())
//!     .controller("my-operator", |ctx| async move {
//!         // drive a kube_runtime::Controller with ctx.client here
//!         Ok(())
//!     })
//!     .start();
//! handle.shutdown().await;
//! # }
//! ```

use std::sync::Arc;

use futures::future::BoxFuture;

pub mod events;
mod history;
pub mod leader;
pub mod metrics;
mod podutil;
pub mod runtime;
mod util;

mod apiservice;
mod cronjob;
mod daemonset;
mod deployment;
mod disruption;
mod endpoints;
mod gc;
mod job;
mod namespace;
mod nodes;
mod replicaset;
mod scheduler;
mod serviceaccount;
mod statefulset;
mod volumes;

pub use cronjob::schedule::Schedule as CronSchedule;
pub use metrics::Metrics;
pub use runtime::{Config, Context, Handle, Runtime};

/// A built-in controller's entry point.
pub type BuiltinFn = fn(Arc<Context>) -> BoxFuture<'static, anyhow::Result<()>>;

/// Names accepted by `--controllers` (kube-controller-manager's names where
/// it has the controller; `scheduler` and `nodes` are ferrokube's own).
pub const BUILTIN: &[&str] = &[
    "garbagecollector",
    "apiservice-availability",
    "namespace",
    "serviceaccount",
    "root-ca-cert-publisher",
    "endpoint",
    "endpointslice",
    "replicaset",
    "deployment",
    "statefulset",
    "daemonset",
    "job",
    "cronjob",
    "disruption",
    "persistentvolume-binder",
    "scheduler",
    "nodes",
];

fn entry(name: &str) -> Option<BuiltinFn> {
    Some(match name {
        "garbagecollector" => |c| Box::pin(gc::run(c)),
        "apiservice-availability" => |c| Box::pin(apiservice::run(c)),
        "namespace" => |c| Box::pin(namespace::run(c)),
        "serviceaccount" => |c| Box::pin(serviceaccount::run_service_accounts(c)),
        "root-ca-cert-publisher" => |c| Box::pin(serviceaccount::run_root_ca(c)),
        "endpoint" => |c| Box::pin(endpoints::run_endpoints(c)),
        "endpointslice" => |c| Box::pin(endpoints::run_endpoint_slices(c)),
        "replicaset" => |c| Box::pin(replicaset::run(c)),
        "deployment" => |c| Box::pin(deployment::run(c)),
        "statefulset" => |c| Box::pin(statefulset::run(c)),
        "daemonset" => |c| Box::pin(daemonset::run(c)),
        "job" => |c| Box::pin(job::run(c)),
        "cronjob" => |c| Box::pin(cronjob::run(c)),
        "disruption" => |c| Box::pin(disruption::run(c)),
        "persistentvolume-binder" => |c| Box::pin(volumes::run(c)),
        "scheduler" => |c| Box::pin(scheduler::run(c)),
        "nodes" => |c| Box::pin(nodes::run(c)),
        _ => return None,
    })
}

/// The selected built-in controllers.
pub(crate) fn builtin_runners(config: &Config) -> Vec<(&'static str, BuiltinFn)> {
    BUILTIN
        .iter()
        .filter(|name| config.enabled(name))
        .filter_map(|name| entry(name).map(|f| (*name, f)))
        .collect()
}

//! The runtime that hosts controllers: it picks which built-in controllers
//! run (`--controllers`, as kube-controller-manager), holds a Lease so that
//! only one replica of a cluster runs them, starts user reconcilers beside
//! them, and stops them all on shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::Client;
use tokio::task::JoinSet;

use crate::leader::{self, LeaderElection};

/// A controller's body: runs until cancelled (its task is aborted) or until
/// it fails.
pub type Runner = Box<dyn FnOnce(Arc<Context>) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// What the runtime is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Controller selection in kube-controller-manager's syntax: `*` for all
    /// the built-ins, `name` to enable one, `-name` to disable one.
    pub controllers: Vec<String>,
    /// How many simulated nodes (Node objects and their kubelets) to run.
    pub nodes: u32,
    /// This replica's identity in the leader Lease; a restarted replica with
    /// the same identity takes its Lease back at once.
    pub identity: String,
    /// Hold `kube-system/ferrokube-controller-manager` before running
    /// anything (needed when several replicas share a store).
    pub leader_election: bool,
    /// Lease timings.
    pub lease: leader::Timings,
    /// The cluster CA (PEM) published as `kube-root-ca.crt` in every namespace.
    pub root_ca_pem: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            controllers: vec!["*".into()],
            nodes: 3,
            identity: "ferrokube".into(),
            leader_election: true,
            lease: leader::Timings::default(),
            root_ca_pem: String::new(),
        }
    }
}

impl Config {
    /// Whether the built-in controller `name` is selected.
    pub fn enabled(&self, name: &str) -> bool {
        let mut on = false;
        for item in &self.controllers {
            let item = item.trim();
            if item == "*" {
                on = true;
            } else if item == name {
                return true;
            } else if item.strip_prefix('-') == Some(name) {
                return false;
            }
        }
        on
    }

    /// Names in `--controllers` that are no built-in controller.
    pub fn unknown_names(&self) -> Vec<String> {
        self.controllers
            .iter()
            .map(|s| s.trim().trim_start_matches('-').to_string())
            .filter(|s| s != "*" && !s.is_empty() && !crate::BUILTIN.contains(&s.as_str()))
            .collect()
    }
}

/// What every controller gets: a client to the API and the configuration.
pub struct Context {
    pub client: Client,
    pub config: Config,
    /// Per-controller metrics; `ctx.metrics.drive(name, controller.run(..))`
    /// counts every reconciliation.
    pub metrics: crate::Metrics,
}

impl Context {
    /// A recorder of core/v1 Events on behalf of `component`.
    pub fn recorder(&self, component: &str) -> crate::events::Recorder {
        crate::events::Recorder::new(self.client.clone(), component)
    }
}

/// Builds the set of controllers to run: the selected built-ins plus any
/// user reconcilers added with [`Runtime::controller`].
pub struct Runtime {
    client: Client,
    config: Config,
    metrics: crate::Metrics,
    extra: Vec<(String, Runner)>,
}

impl Runtime {
    pub fn new(client: Client, config: Config) -> Runtime {
        Runtime {
            client,
            config,
            metrics: crate::Metrics::default(),
            extra: Vec::new(),
        }
    }

    /// Count into these metrics (e.g. ones the API server serves).
    pub fn with_metrics(mut self, metrics: crate::Metrics) -> Runtime {
        self.metrics = metrics;
        self
    }

    /// Run a user controller beside the built-in ones (under the same
    /// leader election). `run` should drive a `kube_runtime::Controller`
    /// (or any loop) until it is cancelled.
    pub fn controller<F, Fut>(mut self, name: &str, run: F) -> Runtime
    where
        F: FnOnce(Arc<Context>) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.extra.push((
            name.to_string(),
            Box::new(move |ctx| Box::pin(run(ctx)) as Pin<Box<_>>),
        ));
        self
    }

    /// Start: campaign for the Lease (if asked), then run every controller.
    /// Returns at once; the [`Handle`] stops them.
    pub fn start(self) -> Handle {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(supervise(self, stop_rx));
        Handle {
            stop: stop_tx,
            task,
        }
    }
}

/// A running set of controllers.
pub struct Handle {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Stop every controller and release the Lease.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// Leadership loop: while we lead, controllers run; when leadership is lost
/// they are aborted and we campaign again.
async fn supervise(rt: Runtime, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Runtime {
        client,
        config,
        metrics,
        extra,
    } = rt;
    let ctx = Arc::new(Context {
        client: client.clone(),
        config: config.clone(),
        metrics: metrics.clone(),
    });
    let mut extra = Some(extra);
    let election = LeaderElection::new(client, &config.identity, config.lease);
    loop {
        if config.leader_election {
            tokio::select! {
                _ = election.acquire() => {}
                _ = stop.changed() => return,
            }
            tracing::info!(identity = %config.identity, "leading: starting controllers");
            metrics.set_leader(leader::LEASE_NAME, true);
        }
        let mut set = JoinSet::new();
        for (name, run) in crate::builtin_runners(&config) {
            spawn_builtin(&mut set, name, run, ctx.clone());
        }
        // User controllers are started once; if leadership is lost they are
        // not restarted (their closures are consumed), as with client-go's
        // OnStoppedLeading = exit.
        for (name, runner) in extra.take().unwrap_or_default() {
            spawn(&mut set, name, runner, ctx.clone());
        }
        let lost = async {
            if config.leader_election {
                election.hold().await
            } else {
                std::future::pending::<()>().await
            }
        };
        tokio::select! {
            _ = lost => {
                tracing::warn!(identity = %config.identity, "leadership lost: stopping controllers");
                metrics.set_leader(leader::LEASE_NAME, false);
                set.abort_all();
            }
            _ = stop.changed() => {
                set.abort_all();
                while set.join_next().await.is_some() {}
                if config.leader_election {
                    election.release().await;
                }
                return;
            }
        }
        while set.join_next().await.is_some() {}
    }
}

/// Run a built-in controller, restarting it after a pause if it fails.
fn spawn_builtin(
    set: &mut JoinSet<()>,
    name: &'static str,
    run: crate::BuiltinFn,
    ctx: Arc<Context>,
) {
    set.spawn(async move {
        loop {
            tracing::debug!(controller = name, "starting");
            match run(ctx.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(controller = name, error = %format!("{e:#}"), "controller failed; restarting in 1s")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Run one user controller once.
fn spawn(set: &mut JoinSet<()>, name: String, runner: Runner, ctx: Arc<Context>) {
    set.spawn(async move {
        tracing::debug!(controller = %name, "starting");
        match runner(ctx).await {
            Ok(()) => tracing::debug!(controller = %name, "stopped"),
            Err(e) => {
                tracing::error!(controller = %name, error = %format!("{e:#}"), "controller failed")
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(items: &[&str]) -> Config {
        Config {
            controllers: items.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn selection_follows_kube_controller_manager_syntax() {
        assert!(cfg(&["*"]).enabled("deployment"));
        assert!(!cfg(&["*", "-deployment"]).enabled("deployment"));
        assert!(cfg(&["*", "-deployment"]).enabled("job"));
        assert!(!cfg(&["job"]).enabled("deployment"));
        assert!(cfg(&["job"]).enabled("job"));
        assert!(!cfg(&[]).enabled("job"));
        assert_eq!(cfg(&["*", "-bogus", "job"]).unknown_names(), ["bogus"]);
    }
}

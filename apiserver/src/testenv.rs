//! A whole ferrokube in the test process — store, API server, controllers —
//! for operator authors: the faster replacement for envtest.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let env = apiserver::testenv::TestEnv::start().await?;
//! let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::default_namespaced(env.client());
//! // ... run your reconciler against env.client() and assert on the cluster
//! env.stop().await;
//! # Ok(()) }
//! ```
//!
//! The server listens on a loopback port chosen by the kernel, keeps its data
//! in a temp dir removed on drop, and runs the built-in controllers (a
//! scheduler and simulated nodes included), so Deployments roll out and Jobs
//! complete. Use [`Builder`] to choose controllers, nodes, or to run your own
//! reconcilers beside the built-in ones under the same runtime.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use openraft_store::Store;

use crate::server::{self, Options};

/// A running in-process ferrokube.
pub struct TestEnv {
    client: kube::Client,
    addr: SocketAddr,
    kubeconfig: std::path::PathBuf,
    server: actix_web::dev::ServerHandle,
    controllers: Option<controllers::Handle>,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

/// Options of a [`TestEnv`].
pub struct Builder {
    config: controllers::Config,
    runtime_extra: Vec<Extra>,
}

type Extra = Box<dyn FnOnce(controllers::Runtime) -> controllers::Runtime + Send>;

impl Default for Builder {
    fn default() -> Self {
        Builder {
            config: controllers::Config {
                // One process owns the store: no Lease to wait for.
                leader_election: false,
                ..Default::default()
            },
            runtime_extra: Vec::new(),
        }
    }
}

impl Builder {
    /// The built-in controllers to run, in `--controllers` syntax
    /// (`["*"]` by default; `[]` for none).
    pub fn controllers(mut self, list: &[&str]) -> Builder {
        self.config.controllers = list.iter().map(|s| s.to_string()).collect();
        self
    }

    /// How many simulated nodes (default 3).
    pub fn nodes(mut self, n: u32) -> Builder {
        self.config.nodes = n;
        self
    }

    /// Run a reconciler of yours beside the built-in ones, started once the
    /// server is ready (see [`controllers::Runtime::controller`]).
    pub fn controller<F, Fut>(mut self, name: &str, run: F) -> Builder
    where
        F: FnOnce(Arc<controllers::Context>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let name = name.to_string();
        self.runtime_extra
            .push(Box::new(move |rt: controllers::Runtime| {
                rt.controller(&name, run)
            }));
        self
    }

    /// Start the store, the server and the controllers.
    pub async fn start(self) -> anyhow::Result<TestEnv> {
        let dir = tempfile::Builder::new()
            .prefix("ferrokube-testenv-")
            .tempdir()?;
        let store: Arc<dyn Store> = openraft_store::RaftStore::open(openraft_store::Config::new(
            dir.path().join("store"),
            1,
        ))
        .await?;
        let opts = Options {
            data_dir: dir.path().to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            tls_sans: Vec::new(),
            lifecycle: server::lifecycle(&self.config),
            controller_metrics: Some(controllers::Metrics::default()),
            authorization_mode: Default::default(),
        };
        let running = server::start(&opts, store.clone()).await?;
        let addr = running.addr;
        let kubeconfig = running.kubeconfig.clone();
        let handle = running.handle();
        tokio::spawn(running.wait());
        let client = server::client_for(&kubeconfig).await?;
        let mut config = self.config;
        config.root_ca_pem = std::fs::read_to_string(dir.path().join("pki").join("ca.crt"))?;
        let mut runtime = controllers::Runtime::new(client.clone(), config)
            .with_metrics(opts.controller_metrics.clone().unwrap_or_default());
        for extra in self.runtime_extra {
            runtime = extra(runtime);
        }
        Ok(TestEnv {
            client,
            addr,
            kubeconfig,
            server: handle,
            controllers: Some(runtime.start()),
            store,
            _dir: dir,
        })
    }
}

impl TestEnv {
    /// Everything with the defaults: all controllers, 3 simulated nodes.
    pub async fn start() -> anyhow::Result<TestEnv> {
        Builder::default().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A client with the admin's rights (cheap to clone).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Where the API is served (`https://127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin kubeconfig, for `kubectl --kubeconfig` in tests.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Stop the controllers, the server and the store.
    pub async fn stop(mut self) {
        if let Some(c) = self.controllers.take() {
            c.shutdown().await;
        }
        self.server.stop(false).await;
        let _ = self.store.shutdown().await;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Without `stop()`, stop serving at least; the temp dir goes with us.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let server = self.server.clone();
            rt.spawn(async move { server.stop(false).await });
        }
    }
}

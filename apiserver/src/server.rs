//! The HTTPS server: binds the listen address (port 0 allowed), prepares the
//! PKI, assembles the actix App (health, discovery, OpenAPI, REST), writes the
//! admin kubeconfig for the real address, and reports ready.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{http::header, web, App, HttpResponse, HttpServer};
use openraft_store::Store;

use crate::error::{ApiError, Details};
use crate::health::Health;
use crate::metrics::{Metrics, RequestInfo};
use crate::{kubeconfig, tls};

/// kube-apiserver's request body limit (`--max-request-bytes` derived, 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// File in the data dir holding this node's Raft peer address (`host:port`),
/// written when `--peer-listen` is given; pass it to another node's `--join`.
pub const PEER_ADDRESS_FILE: &str = "peer-address";

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Holds `pki/`, `admin.kubeconfig` and the store's files.
    pub data_dir: PathBuf,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Extra names (DNS or IP) for the serving certificate.
    pub tls_sans: Vec<String>,
    /// Which controllers will finish deletions the REST layer starts.
    pub lifecycle: crate::state::Lifecycle,
    /// The in-process controllers' metrics, served on `/metrics` too.
    pub controller_metrics: Option<controllers::Metrics>,
    /// `--authorization-mode`.
    pub authorization_mode: crate::auth::Mode,
}

/// The serving certificate's names: loopback, the listen host, `--tls-san`s.
fn serving_hosts(opts: &Options) -> Vec<String> {
    let mut hosts = tls::serving_hosts(&opts.listen.ip().to_string());
    for san in &opts.tls_sans {
        if !san.is_empty() && !hosts.contains(san) {
            hosts.push(san.clone());
        }
    }
    hosts
}

/// A started server.
pub struct Running {
    /// The address actually bound (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// `https://host:port` as written in the kubeconfig.
    pub url: String,
    /// Absolute path of the admin kubeconfig.
    pub kubeconfig: PathBuf,
    server: actix_web::dev::Server,
}

impl Running {
    /// A handle to stop the server (`stop(true)` drains connections).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serve until the server stops (SIGINT/SIGTERM or a handle's `stop`).
    pub async fn wait(self) -> std::io::Result<()> {
        self.server.await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot use data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::Error),
    #[error("cannot start the API: {0}")]
    State(String),
    #[error("cannot start the HTTP server: {0}")]
    Http(#[source] std::io::Error),
}

/// The admin kubeconfig's path inside `data_dir`.
pub fn kubeconfig_path(data_dir: &Path) -> PathBuf {
    data_dir.join(kubeconfig::FILE_NAME)
}

/// Make `data_dir` exist, return it absolute, and remove a kubeconfig left by
/// an earlier run (it names an old port; pollers must wait for the new one).
pub fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, Error> {
    let err = |source| Error::DataDir {
        path: data_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let dir = std::fs::canonicalize(data_dir).map_err(err)?;
    match std::fs::remove_file(kubeconfig_path(&dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    Ok(dir)
}

/// Start serving the API over `store`. Returns once the socket accepts
/// connections and the kubeconfig is written.
pub async fn start(opts: &Options, store: Arc<dyn Store>) -> Result<Running, Error> {
    tls::install_crypto_provider();
    let data_dir = prepare_data_dir(&opts.data_dir)?;

    let listener = TcpListener::bind(opts.listen).map_err(|source| Error::Bind {
        addr: opts.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: opts.listen,
        source,
    })?;
    let url = kubeconfig::server_url(addr);

    let pki = tls::Pki::load_or_create(&data_dir, &serving_hosts(opts))?;
    let tls_config = pki.server_config()?;

    let state = crate::state::AppState::new(store.clone())
        .await
        .map_err(|e| Error::State(e.message))?;
    state
        .bootstrap()
        .await
        .map_err(|e| Error::State(e.message))?;
    state.set_lifecycle(opts.lifecycle);
    let authz = crate::auth::start(&state, opts.authorization_mode)
        .await
        .map_err(|e| Error::State(e.message))?;
    crate::apiservices::start(state.clone());
    crate::crd::controller::start(state.clone());
    if !state.wait_crds_synced(Duration::from_secs(10)).await {
        tracing::warn!(
            "custom resource definitions not loaded yet; serving built-ins only until they are"
        );
    }
    let signer = web::Data::new(
        crate::tokens::Signer::load_or_create(&store, &url)
            .await
            .map_err(Error::State)?,
    );
    let health = web::Data::new(Health { store });
    let metrics = web::Data::new(Metrics::with_extra(|r| {
        if let Some(m) = &opts.controller_metrics {
            m.register(r);
        }
    }));
    let state = web::Data::from(state);

    let mut http = HttpServer::new(move || {
        let metrics_mw = metrics.clone();
        App::new()
            .app_data(health.clone())
            .app_data(metrics.clone())
            .app_data(state.clone())
            .app_data(signer.clone())
            .app_data(authz.clone())
            .app_data(json_config())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                ApiError::bad_request(e.to_string()).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::bad_request(e.to_string()).into()
            }))
            .configure(crate::health::configure)
            .configure(crate::tokens::configure)
            .configure(crate::discovery::configure)
            .configure(crate::openapi::configure)
            .configure(crate::rest::configure)
            .default_service(web::to(|| async { not_found_response() }))
            .wrap(actix_web::middleware::from_fn(crate::auth::filter))
            .wrap_fn(|req, srv| {
                let fut = srv.call(req);
                async move { fut.await.map(errors_as_status) }
            })
            .wrap_fn(move |req, srv| {
                let started = Instant::now();
                let content_type = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let info = RequestInfo::parse(
                    req.method().as_str(),
                    req.path(),
                    req.query_string(),
                    &content_type,
                );
                let method = req.method().clone();
                let uri = req.uri().clone();
                let metrics = metrics_mw.clone();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    let code = res.status().as_u16();
                    metrics.observe(&info, code, started);
                    tracing::debug!(%method, %uri, code, elapsed_us = started.elapsed().as_micros() as u64, "request");
                    Ok(res)
                }
            })
    })
    .on_connect(crate::auth::authn::on_connect)
    .shutdown_timeout(5);
    if opts.workers > 0 {
        http = http.workers(opts.workers);
    }
    let server = http
        .listen_rustls_0_23(listener, tls_config)
        .map_err(Error::Http)?
        .run();

    // The socket is listening (connections queue until workers accept), so the
    // kubeconfig may name it now.
    let kubeconfig = kubeconfig_path(&data_dir);
    kubeconfig::write(&kubeconfig, &url, &pki)?;

    Ok(Running {
        addr,
        url,
        kubeconfig,
        server,
    })
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|e, _| {
            use actix_web::error::JsonPayloadError as J;
            match e {
                J::Overflow { .. } | J::OverflowKnownLength { .. } => too_large().into(),
                J::ContentType => ApiError::unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
                )
                .into(),
                other => ApiError::bad_request(other.to_string()).into(),
            }
        })
}

fn too_large() -> ApiError {
    ApiError::too_large(format!(
        "Request entity too large: limit is {MAX_BODY_BYTES}"
    ))
}

/// The Status kube-apiserver sends for a path nothing serves.
pub fn not_found_response() -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .with_details(Details::default())
    .error_response()
}

/// The Status `reason` upstream uses for an HTTP code.
fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// Re-render errors that actix produced itself (payload overflow, malformed
/// paths, extractor failures) as `metav1.Status`; `ApiError`s pass unchanged.
fn errors_as_status<B: actix_web::body::MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let foreign = res
        .response()
        .error()
        .filter(|e| e.as_error::<ApiError>().is_none())
        .map(|e| {
            use actix_web::error::PayloadError;
            match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => too_large(),
                _ => {
                    let code = res.status().as_u16();
                    ApiError::new(code, reason_for(code), e.to_string())
                }
            }
        });
    match foreign {
        None => res.map_into_boxed_body(),
        Some(api) => {
            use actix_web::ResponseError;
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, api.error_response())
        }
    }
}

/// `ferrokube server`: open the store, serve, print where the kubeconfig is,
/// and run until a signal stops the server.
pub async fn run(args: crate::cli::ServerArgs) -> anyhow::Result<()> {
    let began = Instant::now();
    let controllers = controllers_config(&args)?;
    let data_dir = prepare_data_dir(&args.data_dir)?;
    let store = open_store(&args, &data_dir).await?;
    let store_for_shutdown = store.clone();
    let store_opened = began.elapsed();
    let opts = Options {
        data_dir,
        listen: args.listen,
        workers: args.workers,
        tls_sans: args.tls_san.clone(),
        lifecycle: lifecycle(&controllers),
        controller_metrics: Some(controllers::Metrics::default()),
        authorization_mode: args.authorization_mode,
    };
    let running = start(&opts, store).await?;
    let serving = began.elapsed().saturating_sub(store_opened);
    let message = ready_message(&running, store_opened, serving);
    tracing::info!(url = %running.url, kubeconfig = %running.kubeconfig.display(), store_ms = store_opened.as_millis() as u64, serve_ms = serving.as_millis() as u64, "ready");
    println!("{message}");
    let client = client_for(&running.kubeconfig).await?;
    let mut controllers = controllers;
    controllers.root_ca_pem = std::fs::read_to_string(opts.data_dir.join("pki").join("ca.crt"))?;
    let controllers = controllers::Runtime::new(client, controllers)
        .with_metrics(opts.controller_metrics.clone().unwrap_or_default())
        .start();
    let served = running.wait().await;
    tracing::info!("server stopped");
    controllers.shutdown().await;
    match store_for_shutdown.shutdown().await {
        Ok(()) => tracing::info!("store stopped"),
        Err(e) => tracing::warn!(error = %e, "store shutdown failed"),
    }
    served?;
    Ok(())
}

/// The controllers' configuration from the server flags.
fn controllers_config(args: &crate::cli::ServerArgs) -> anyhow::Result<controllers::Config> {
    let config = controllers::Config {
        controllers: args
            .controllers
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        nodes: args.nodes,
        identity: format!("ferrokube-{}", args.node_id),
        leader_election: args.leader_elect,
        ..Default::default()
    };
    let unknown = config.unknown_names();
    if !unknown.is_empty() {
        anyhow::bail!(
            "--controllers: unknown controller(s) {}; known: {}",
            unknown.join(", "),
            controllers::BUILTIN.join(", ")
        );
    }
    Ok(config)
}

/// What the REST layer may leave to the selected controllers.
pub fn lifecycle(config: &controllers::Config) -> crate::state::Lifecycle {
    crate::state::Lifecycle {
        garbage_collector: config.enabled("garbagecollector"),
        namespace_controller: config.enabled("namespace"),
        kubelet: config.enabled("nodes") && config.nodes > 0,
    }
}

/// A client of our own API through the admin kubeconfig, as any user's.
pub async fn client_for(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(kube::Client::try_from(config)?)
}

/// Open (or create, or join) the store in `data_dir/store`.
async fn open_store(
    args: &crate::cli::ServerArgs,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn Store>> {
    let mut config = openraft_store::Config::new(data_dir.join("store"), args.node_id);
    config.raft_listen = args.peer_listen.clone();
    config.raft_advertise = args.peer_advertise.clone();
    config.join = args.join.clone();
    let store = openraft_store::RaftStore::open(config).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot open the store in {}: {e}",
            data_dir.join("store").display()
        )
    })?;
    if args.peer_listen.is_some() {
        tracing::info!(
            node_id = store.id(),
            peer_addr = store.raft_addr(),
            "store serving Raft to peers"
        );
        // For scripts and tests that ask for port 0: where peers reach us.
        tls::write_file(
            &data_dir.join(PEER_ADDRESS_FILE),
            store.raft_addr().as_bytes(),
            false,
        )?;
    }
    Ok(store)
}

/// How long the store took and how long serving took after it, for the log.
pub fn ready_message(running: &Running, store_opened: Duration, serving: Duration) -> String {
    format!(
        "ferrokube ready on {} (store opened in {} ms, serving {} ms later); kubeconfig: {}\nexport KUBECONFIG={}",
        running.url,
        store_opened.as_millis(),
        serving.as_millis(),
        running.kubeconfig.display(),
        running.kubeconfig.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as at;

    #[actix_web::test]
    async fn unknown_path_is_a_not_found_status() {
        let app = at::init_service(
            App::new().default_service(web::to(|| async { not_found_response() })),
        )
        .await;
        let res = at::call_service(&app, at::TestRequest::get().uri("/nope").to_request()).await;
        assert_eq!(res.status(), 404);
        let body: serde_json::Value = at::read_body_json(res).await;
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "NotFound");
        assert_eq!(
            body["message"],
            "the server could not find the requested resource"
        );
        assert_eq!(body["details"], serde_json::json!({}));
    }

    #[actix_web::test]
    async fn actix_extractor_errors_render_as_status() {
        async fn takes_json(_v: web::Json<serde_json::Value>) -> HttpResponse {
            HttpResponse::Ok().finish()
        }
        async fn takes_bytes(_b: web::Bytes) -> HttpResponse {
            HttpResponse::Ok().finish()
        }
        let app = at::init_service(
            App::new()
                .app_data(json_config())
                .app_data(web::PayloadConfig::new(16))
                .route("/json", web::post().to(takes_json))
                .route("/bytes", web::post().to(takes_bytes))
                .wrap_fn(|req, srv| {
                    let fut = srv.call(req);
                    async move { fut.await.map(errors_as_status) }
                }),
        )
        .await;

        let res = at::call_service(
            &app,
            at::TestRequest::post()
                .uri("/json")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{not json")
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = at::read_body_json(res).await;
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "BadRequest");

        let res = at::call_service(
            &app,
            at::TestRequest::post()
                .uri("/bytes")
                .set_payload(vec![b'x'; 64])
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 413);
        let body: serde_json::Value = at::read_body_json(res).await;
        assert_eq!(body["reason"], "RequestEntityTooLarge");
        assert_eq!(body["code"], 413);
    }

    #[test]
    fn serving_hosts_add_tls_sans_once() {
        let opts = Options {
            data_dir: PathBuf::from("/unused"),
            listen: "10.0.0.5:6443".parse().expect("addr"),
            workers: 0,
            tls_sans: vec!["api.example.test".into(), "10.0.0.5".into()],
            lifecycle: Default::default(),
            controller_metrics: None,
            authorization_mode: Default::default(),
        };
        assert_eq!(
            serving_hosts(&opts),
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "10.0.0.5",
                "api.example.test"
            ]
        );
    }

    #[test]
    fn prepare_data_dir_removes_stale_kubeconfig() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        std::fs::write(kubeconfig_path(&data), "old").expect("write");
        let abs = prepare_data_dir(&data).expect("prepare");
        assert!(abs.is_absolute());
        assert!(!kubeconfig_path(&abs).exists());
    }
}

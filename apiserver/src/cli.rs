//! The `ferrokube` command line: `ferrokube server ...` and `ferrokube version`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ferrokube",
    version = concat!(env!("CARGO_PKG_VERSION"), " (Kubernetes ", "v1.33.1", ")"),
    about = "A Kubernetes API server (v1.33) with an embedded replicated store, in one binary",
    long_about = "A Kubernetes API server (reports v1.33) that stock kubectl, client-go, \
kube-rs and the Python client use unchanged. One binary holds the API server, its \
Raft-replicated store (openraft + RocksDB) and the built-in controllers.\n\n\
Quick start:\n  ferrokube server --data-dir ./data\n  export KUBECONFIG=$PWD/data/admin.kubeconfig\n  kubectl get namespaces\n\n\
Logging: set RUST_LOG (e.g. RUST_LOG=info,apiserver=debug)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (and its store) until SIGINT/SIGTERM.
    Server(ServerArgs),
    /// Print ferrokube's version and the Kubernetes version it serves.
    Version(VersionArgs),
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Security notes: the server serves HTTPS only. On first start it creates a \
cluster CA, a serving certificate and an admin client certificate \
(CN=kubernetes-admin, O=system:masters) under DATA_DIR/pki and reuses them on restart. \
Client certificates signed by the CA authenticate their subject (CN = user, O = groups); \
ServiceAccount tokens (kubectl create token) authenticate their account while it exists; \
requests with neither are system:anonymous, and other bearer tokens are refused (401). The \
key that signs ServiceAccount tokens is kept in the store, one per cluster, and published at \
/openid/v1/jwks. With --authorization-mode=RBAC (the default) requests are \
authorized by RBAC over the default roles created at start (cluster-admin, admin, edit, \
view, system:discovery, ...): anonymous clients may read /healthz, /livez, /readyz and \
/version only. Impersonation headers (kubectl --as) need the impersonate verb."
)]
pub struct ServerArgs {
    /// Directory for the store, the PKI (pki/) and admin.kubeconfig; created if missing.
    #[arg(long, env = "FERROKUBE_DATA_DIR", default_value = "ferrokube-data")]
    pub data_dir: PathBuf,

    /// HTTPS listen address, IP:PORT. Port 0 picks a free port; the real one
    /// is written to DATA_DIR/admin.kubeconfig.
    #[arg(long, env = "FERROKUBE_LISTEN", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,

    /// This node's Raft id, unique in the cluster (the first node is 1).
    #[arg(long, default_value_t = 1)]
    pub node_id: u64,

    /// Address (HOST:PORT) where this node serves Raft RPC to its peers.
    /// Needed for a cluster; without it the store runs as one embedded node.
    /// The bound address is written to DATA_DIR/peer-address (useful with port 0).
    #[arg(long, value_name = "HOST:PORT")]
    pub peer_listen: Option<String>,

    /// The HOST:PORT peers use to reach this node, when it differs from
    /// --peer-listen (e.g. listening on 0.0.0.0).
    #[arg(long, value_name = "HOST:PORT", requires = "peer_listen")]
    pub peer_advertise: Option<String>,

    /// Join an existing cluster through a member's peer address (its
    /// --peer-listen HOST:PORT). Only used on an empty data dir; without it an
    /// empty data dir starts a new cluster with this node as its only voter.
    #[arg(long, value_name = "HOST:PORT", requires = "peer_listen")]
    pub join: Option<String>,

    /// Extra DNS name or IP for the serving certificate (repeatable). It
    /// always covers localhost, 127.0.0.1, ::1 and the --listen host.
    #[arg(long, value_name = "NAME")]
    pub tls_san: Vec<String>,

    /// HTTP worker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,

    /// Simulated nodes: Node objects with heartbeats and a simulated kubelet
    /// that runs the pods bound to them (0: none, pods stay Pending).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nodes: u32,

    /// Built-in controllers to run, comma separated, in kube-controller-manager's
    /// syntax: '*' enables all, 'name' enables one, '-name' disables one
    /// (e.g. '*,-job'); '' runs none. Names: garbagecollector, apiservice-availability, namespace,
    /// serviceaccount, root-ca-cert-publisher, endpoint, endpointslice, replicaset,
    /// deployment, statefulset, daemonset, job, cronjob, disruption, persistentvolume-binder,
    /// scheduler, nodes.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,

    /// Run the controllers only while holding the Lease
    /// kube-system/ferrokube-controller-manager, so that one replica of a
    /// cluster runs them.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub leader_elect: bool,

    /// How requests are authorized: RBAC (Roles, ClusterRoles and their
    /// bindings; members of system:masters may do anything) or AlwaysAllow
    /// (every request, anonymous ones too).
    #[arg(long, value_enum, value_name = "MODE", default_value = "RBAC")]
    pub authorization_mode: crate::auth::Mode,
}

#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = VersionFormat::Text)]
    pub output: VersionFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Text,
    Json,
}

/// What `ferrokube version` prints.
pub fn version_text(format: VersionFormat) -> String {
    let info = crate::health::version_info();
    match format {
        VersionFormat::Text => format!(
            "ferrokube {}\nKubernetes API: {}\nPlatform: {}",
            env!("CARGO_PKG_VERSION"),
            info["gitVersion"].as_str().unwrap_or_default(),
            info["platform"].as_str().unwrap_or_default(),
        ),
        VersionFormat::Json => {
            let out = serde_json::json!({
                "ferrokubeVersion": env!("CARGO_PKG_VERSION"),
                "serverVersion": info,
            });
            serde_json::to_string_pretty(&out).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn server_defaults_and_port_zero() {
        let cli =
            Cli::try_parse_from(["ferrokube", "server", "--data-dir", "/tmp/x"]).expect("parse");
        let Command::Server(args) = cli.command else {
            panic!("not server")
        };
        assert_eq!(args.listen, "127.0.0.1:6443".parse().expect("addr"));
        assert_eq!(args.node_id, 1);
        let cli =
            Cli::try_parse_from(["ferrokube", "server", "--listen", "127.0.0.1:0"]).expect("parse");
        let Command::Server(args) = cli.command else {
            panic!("not server")
        };
        assert_eq!(args.listen.port(), 0);
    }

    #[test]
    fn join_needs_peer_listen() {
        assert!(Cli::try_parse_from(["ferrokube", "server", "--join", "10.0.0.1:7000"]).is_err());
        assert!(Cli::try_parse_from([
            "ferrokube",
            "server",
            "--join",
            "10.0.0.1:7000",
            "--peer-listen",
            "127.0.0.1:0",
            "--node-id",
            "2"
        ])
        .is_ok());
    }

    #[test]
    fn bad_listen_address_is_rejected() {
        assert!(Cli::try_parse_from(["ferrokube", "server", "--listen", "localhost"]).is_err());
    }

    #[test]
    fn version_json_carries_server_version() {
        let v: serde_json::Value =
            serde_json::from_str(&version_text(VersionFormat::Json)).expect("json");
        assert_eq!(v["serverVersion"]["minor"], "33");
    }
}

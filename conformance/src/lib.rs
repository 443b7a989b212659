//! Black-box harness: start the real `ferrokube` binary on a free loopback
//! port with a fresh data dir, wait until it is ready, and talk to it as users
//! do (kubectl, kube::Client, raw HTTPS).
//!
//! Finding the binary (this crate cannot depend on another crate's binary):
//! 1. `FERROKUBE_BIN`, if set;
//! 2. next to the test executable: `<target>/debug/deps/<test>` means
//!    `<target>/debug/ferrokube`;
//! 3. `$CARGO_TARGET_DIR/debug/ferrokube`.
//!
//! Build it first: `cargo build -p apiserver --bin ferrokube` (the Makefile's
//! `make conformance` does). A missing binary fails with that hint.
//!
//! kubectl: `/usr/bin/kubectl` (override with `KUBECTL`); it picks a kubectl
//! 1.NN matching the server's `/version`. [`KUBECTL_1_32`] is the 1.32 client
//! for skew tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// The default kubectl (a dispatcher choosing 1.NN from the server version).
pub const KUBECTL: &str = "/usr/bin/kubectl";
/// kubectl 1.32, one minor version behind the server.
pub const KUBECTL_1_32: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

/// How long start-up may take before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running ferrokube, killed on drop (its data dir is removed with it).
pub struct Server {
    child: Child,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    url: String,
    extra_args: Vec<String>,
}

/// Where the ferrokube binary is, or why it is not there.
pub fn ferrokube_bin() -> Result<PathBuf> {
    let hint = "build it first: `cargo build -p apiserver --bin ferrokube` \
                (or set FERROKUBE_BIN to its path)";
    if let Some(p) = std::env::var_os("FERROKUBE_BIN") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("FERROKUBE_BIN={} does not exist; {hint}", p.display());
    }
    let mut tried = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // <target>/debug/deps/<test-binary>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            tried.push(profile_dir.join("ferrokube"));
        }
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        tried.push(PathBuf::from(t).join("debug").join("ferrokube"));
    }
    for p in &tried {
        if p.is_file() {
            return Ok(p.clone());
        }
    }
    let looked: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "ferrokube binary not found (looked at: {}); {hint}",
        looked.join(", ")
    )
}

impl Server {
    /// Start ferrokube with `--listen 127.0.0.1:0` in a fresh temp dir and wait
    /// for `admin.kubeconfig` and `/readyz`. Panics (with the server log) if
    /// it does not come up: tests cannot do anything useful without it.
    pub fn start() -> Server {
        Self::start_with(&[]).unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
    }

    /// Like [`Server::start`], with extra `ferrokube server` flags.
    pub fn start_with(extra: &[&str]) -> Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("ferrokube-conformance-")
            .tempdir()
            .context("creating a temp data dir")?;
        let extra_args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let child = spawn(dir.path(), &extra_args)?;
        let mut server = Server {
            child,
            kubeconfig: dir.path().join("admin.kubeconfig"),
            dir,
            url: String::new(),
            extra_args,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Stop the process (SIGKILL) and start it again on the same data dir.
    /// The port changes; the kubeconfig is rewritten.
    pub fn restart(&mut self) -> Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The old kubeconfig names the old port: wait for the new one.
        let _ = std::fs::remove_file(&self.kubeconfig);
        self.child = spawn(self.dir.path(), &self.extra_args)?;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        // 1. The kubeconfig appears (written atomically, after the socket is bound).
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("ferrokube exited with {status}:\n{}", self.log());
            }
            if self.kubeconfig.is_file() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "no {} after {:?}:\n{}",
                    self.kubeconfig.display(),
                    START_TIMEOUT,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = std::fs::read_to_string(&self.kubeconfig)?;
        self.url = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .ok_or_else(|| anyhow!("no server: line in kubeconfig:\n{text}"))?
            .to_string();
        // 2. /readyz answers 200 "ok".
        let kubeconfig = self.kubeconfig.clone();
        let mut last;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("ferrokube exited with {status}:\n{}", self.log());
            }
            let path = kubeconfig.clone();
            let probe = std::thread::spawn(move || -> Result<(u16, String)> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let client = client_for(&path).await?;
                    get_raw(&client, "/readyz").await
                })
            })
            .join()
            .map_err(|_| anyhow!("readiness probe panicked"))?;
            match probe {
                Ok((200, body)) if body == "ok" => return Ok(()),
                Ok((code, body)) => last = format!("{code} {body}"),
                Err(e) => last = format!("{e:#}"),
            }
            if Instant::now() > deadline {
                bail!(
                    "/readyz not ok after {START_TIMEOUT:?} (last: {last}):\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Path of the admin kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// This node's Raft peer address (`host:port`) when started with
    /// `--peer-listen`: what another node passes to `--join`.
    pub fn peer_address(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("peer-address"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's stdout and stderr so far.
    pub fn log(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            read("stdout.log"),
            read("stderr.log")
        )
    }

    /// Run `/usr/bin/kubectl --kubeconfig <admin> ARGS`.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(&kubectl_path(), args, None)
    }

    /// Run a given kubectl binary with `--kubeconfig`, optionally feeding stdin.
    pub fn kubectl_with(&self, bin: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            // No discovery cache shared between servers (ports differ anyway).
            .env("KUBECACHEDIR", self.dir.path().join("kubecache"))
            .env("HOME", self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let _ = pipe.write_all(input.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for {bin}: {e}"))
    }

    /// Run kubectl and return stdout; panic with stderr (and the server log)
    /// if it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        self.expect_ok(&kubectl_path(), args, out)
    }

    /// Like [`Server::kubectl_ok`] for a given kubectl binary and stdin.
    pub fn kubectl_with_ok(&self, bin: &str, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_with(bin, args, stdin);
        self.expect_ok(bin, args, out)
    }

    fn expect_ok(&self, bin: &str, args: &[&str], out: Output) -> String {
        if !out.status.success() {
            panic!(
                "{bin} {} failed ({}):\nstdout: {}\nstderr: {}\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start `kubectl ARGS` in the background (for `get -w`); kill it when done.
    pub fn kubectl_spawn(&self, args: &[&str]) -> Child {
        Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("KUBECACHEDIR", self.dir.path().join("kubecache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
    }

    /// The server process's id (benchmarks read its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A kube::Client for the admin kubeconfig.
    pub async fn client(&self) -> kube::Client {
        client_for(&self.kubeconfig)
            .await
            .unwrap_or_else(|e| panic!("kube client: {e:#}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The kubectl to use: `$KUBECTL` or `/usr/bin/kubectl`.
/// Where the shared corpus of real manifests lives on the project's machines.
pub const CORPUS: &str = "/work/shared/corpus";

/// The corpus, or None (with a message saying the test is skipped) where it
/// is absent, as in a user's clone.
pub fn corpus() -> Option<PathBuf> {
    let p = Path::new(CORPUS);
    if p.join("objects-index.tsv").is_file() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skipping: no corpus at {CORPUS} (only on the shared workspace)");
        None
    }
}

pub fn kubectl_path() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| KUBECTL.to_string())
}

fn spawn(dir: &Path, extra: &[String]) -> Result<Child> {
    let bin = ferrokube_bin()?;
    let stdout = std::fs::File::create(dir.join("stdout.log"))?;
    let stderr = std::fs::File::create(dir.join("stderr.log"))?;
    Command::new(&bin)
        .arg("server")
        .arg("--data-dir")
        .arg(dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(extra)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))
}

/// A kube::Client from a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(kube::Client::try_from(config)?)
}

/// A raw request through a kube::Client: status code and body text.
pub async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, String)> {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let req = builder.body(kube::client::Body::from(body))?;
    let res = client.send(req).await?;
    let code = res.status().as_u16();
    let bytes = res.into_body().collect_bytes().await?;
    Ok((code, String::from_utf8_lossy(&bytes).into_owned()))
}

/// GET `path`: status code and body text.
pub async fn get_raw(client: &kube::Client, path: &str) -> Result<(u16, String)> {
    request(client, "GET", path, None, Vec::new()).await
}

/// Parse kubectl's stdout as JSON, panicking with the text on failure.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Poll `check` every `every` until it gives `Some`, for at most `wait`;
/// panics with `what` on time-out. For tests waiting on controllers.
pub async fn eventually<T, F, Fut>(wait: Duration, every: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let polled = tokio::time::timeout(wait, async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(every).await;
        }
    })
    .await;
    match polled {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

impl Server {
    /// Blocking [`eventually`]: poll `check` every 100 ms for at most
    /// `wait`; on time-out, panic with `what` and the server log.
    pub fn wait_for<T>(
        &self,
        wait: Duration,
        what: &str,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(v) = check() {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {wait:?} waiting for {what}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_explains_how_to_build_it() {
        // The only test in this binary that touches FERROKUBE_BIN.
        std::env::set_var("FERROKUBE_BIN", "/nonexistent/ferrokube");
        let err = ferrokube_bin().expect_err("missing binary").to_string();
        std::env::remove_var("FERROKUBE_BIN");
        assert!(err.contains("/nonexistent/ferrokube"), "{err}");
        assert!(
            err.contains("cargo build -p apiserver --bin ferrokube"),
            "{err}"
        );
    }
}

"""Starts the real ferrokube binary on a free loopback port with a fresh data dir and
hands tests a configured `kubernetes` ApiClient. The binary comes from FERROKUBE_BIN
(the Makefile sets it)."""

import os
import subprocess
import tempfile
import time
import urllib3

import pytest
from kubernetes import client, config

urllib3.disable_warnings()


def _binary():
    path = os.environ.get("FERROKUBE_BIN") or os.path.expanduser(
        "~/.cache/ferrokube/target/debug/ferrokube"
    )
    if not os.path.exists(path):
        pytest.fail(f"ferrokube binary not found at {path}: run `make build` first")
    return path


@pytest.fixture(scope="session")
def server():
    data = tempfile.mkdtemp(prefix="ferrokube-py-")
    log = open(os.path.join(data, "server.log"), "w")
    proc = subprocess.Popen(
        [_binary(), "server", "--data-dir", data, "--listen", "127.0.0.1:0"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    kubeconfig = os.path.join(data, "admin.kubeconfig")
    deadline = time.time() + 60
    api = None
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ferrokube exited early with {proc.returncode}; see {log.name}")
        if os.path.exists(kubeconfig):
            try:
                api = config.new_client_from_config(config_file=kubeconfig)
                client.VersionApi(api).get_code()
                break
            except Exception:
                pass
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("ferrokube did not become ready within 60 s")
    yield api
    proc.kill()
    proc.wait()


@pytest.fixture()
def core(server):
    return client.CoreV1Api(server)


@pytest.fixture()
def apps(server):
    return client.AppsV1Api(server)

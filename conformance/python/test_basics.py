"""The official Python client against a real ferrokube: version, namespaces, CRUD,
conflicts, errors and watch, as it behaves against kube-apiserver."""

import json
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


def test_version_reports_1_33(server):
    info = client.VersionApi(server).get_code()
    assert info.major == "1"
    assert info.minor == "33"
    assert info.git_version.startswith("v1.33.")


def test_default_namespaces_exist(core):
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_configmap_crud_and_conflict(core):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm"), data={"a": "1"})
    created = core.create_namespaced_config_map("default", body)
    assert created.metadata.uid
    rv = created.metadata.resource_version

    created.data["a"] = "2"
    updated = core.replace_namespaced_config_map("py-cm", "default", created)
    assert int(updated.metadata.resource_version) > int(rv)

    stale = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py-cm", resource_version=rv), data={"a": "3"}
    )
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("py-cm", "default", stale)
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("py-cm", "default").data == {"a": "2"}

    core.delete_namespaced_config_map("py-cm", "default")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("py-cm", "default")
    assert err.value.status == 404
    status = json.loads(err.value.body)
    assert status["reason"] == "NotFound"
    assert status["message"] == 'configmaps "py-cm" not found'


def test_create_twice_is_already_exists(core):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-dup"))
    core.create_namespaced_config_map("default", body)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", body)
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "AlreadyExists"


def test_invalid_name_is_422_with_causes(core):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Not_Valid"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", body)
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_missing_namespace_is_404(core):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", body)
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "no-such-ns" not found'


def test_label_selector_list(core):
    for name, tier in [("py-sel-a", "web"), ("py-sel-b", "db")]:
        core.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"tier": tier})),
        )
    got = core.list_namespaced_config_map("default", label_selector="tier in (web)")
    assert [cm.metadata.name for cm in got.items] == ["py-sel-a"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("default", label_selector="tier in (web")
    assert err.value.status == 400


def test_pagination(core):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py-pages")))
    for i in range(5):
        core.create_namespaced_config_map(
            "py-pages",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm-{i}", labels={"page": "yes"})),
        )
    # The root-ca publisher adds kube-root-ca.crt to every namespace: select ours.
    names, token = [], None
    while True:
        page = core.list_namespaced_config_map(
            "py-pages", limit=2, _continue=token, label_selector="page=yes"
        )
        names += [cm.metadata.name for cm in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm-{i}" for i in range(5)]


def test_watch_sees_changes(core):
    start = core.list_namespaced_config_map("default").metadata.resource_version
    seen = []

    def consume():
        w = watch.Watch()
        for ev in w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=start,
            timeout_seconds=10,
        ):
            seen.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED" and ev["object"].metadata.name == "py-watch":
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-watch"))
    )
    core.patch_namespaced_config_map("py-watch", "default", {"data": {"k": "v"}})
    core.delete_namespaced_config_map("py-watch", "default")
    t.join(15)
    assert ("ADDED", "py-watch") in seen
    assert ("MODIFIED", "py-watch") in seen
    assert ("DELETED", "py-watch") in seen


def test_deployment_defaults_and_scale(apps):
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "py-web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py-web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
            ),
        ),
    )
    created = apps.create_namespaced_deployment("default", dep)
    assert created.metadata.generation == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].image_pull_policy == "Always"

    apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": 5}})
    scaled = apps.read_namespaced_deployment("py-web", "default")
    assert scaled.spec.replicas == 5
    assert scaled.metadata.generation == 2

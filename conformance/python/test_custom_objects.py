"""Custom resources through the official Python client: a CRD installed with
ApiextensionsV1Api, then CustomObjectsApi CRUD, status and scale
subresources, label selectors, a watch, and deleting the CRD."""

import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

GROUP = "py.example.com"
PLURAL = "gadgets"


def _crd():
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "size": {"type": "integer"},
                                        "color": {"type": "string"},
                                    },
                                },
                                "status": {
                                    "type": "object",
                                    "properties": {"count": {"type": "integer"}},
                                },
                            },
                        }
                    },
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.size",
                            "statusReplicasPath": ".status.count",
                        },
                    },
                }
            ],
        },
    }


def _wait(what, check, timeout=20):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def gadgets(server):
    ext = client.ApiextensionsV1Api(server)
    ext.create_custom_resource_definition(_crd())

    def established():
        crd = ext.read_custom_resource_definition(f"{PLURAL}.{GROUP}")
        return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])

    _wait("the CRD to be established", established)
    api = client.CustomObjectsApi(server)

    def served():
        try:
            api.list_namespaced_custom_object(GROUP, "v1", "default", PLURAL)
            return True
        except ApiException:
            return False

    _wait("the kind to be served", served)
    return api


def _gadget(name, size=1, labels=None):
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Gadget",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"size": size, "color": "red"},
    }


def test_crud_and_conflict(gadgets):
    created = gadgets.create_namespaced_custom_object(GROUP, "v1", "default", PLURAL, _gadget("g1"))
    assert created["metadata"]["generation"] == 1
    assert created["kind"] == "Gadget"
    got = gadgets.get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g1")
    assert got["spec"] == {"size": 1, "color": "red"}

    got["spec"]["size"] = 3
    updated = gadgets.replace_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g1", got)
    assert updated["metadata"]["generation"] == 2

    # The old resourceVersion is now stale.
    with pytest.raises(ApiException) as e:
        gadgets.replace_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g1", got)
    assert e.value.status == 409

    with pytest.raises(ApiException) as e:
        gadgets.create_namespaced_custom_object(GROUP, "v1", "default", PLURAL, _gadget("g1"))
    assert e.value.status == 409

    with pytest.raises(ApiException) as e:
        gadgets.get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "missing")
    assert e.value.status == 404

    patched = gadgets.patch_namespaced_custom_object(
        GROUP, "v1", "default", PLURAL, "g1", {"spec": {"color": "blue"}}
    )
    assert patched["spec"] == {"size": 3, "color": "blue"}
    gadgets.delete_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g1")
    with pytest.raises(ApiException) as e:
        gadgets.get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g1")
    assert e.value.status == 404


def test_status_and_scale_subresources(gadgets):
    gadgets.create_namespaced_custom_object(GROUP, "v1", "default", PLURAL, _gadget("g2", size=2))
    # status through /status only; spec through the main resource only.
    st = gadgets.patch_namespaced_custom_object_status(
        GROUP, "v1", "default", PLURAL, "g2", {"status": {"count": 7}, "spec": {"size": 9}}
    )
    assert st["status"] == {"count": 7}
    assert st["spec"]["size"] == 2
    main = gadgets.patch_namespaced_custom_object(
        GROUP, "v1", "default", PLURAL, "g2", {"status": {"count": 1}}
    )
    assert main["status"] == {"count": 7}

    scale = gadgets.get_namespaced_custom_object_scale(GROUP, "v1", "default", PLURAL, "g2")
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 2
    assert scale["status"]["replicas"] == 7
    gadgets.patch_namespaced_custom_object_scale(
        GROUP, "v1", "default", PLURAL, "g2", {"spec": {"replicas": 5}}
    )
    got = gadgets.get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "g2")
    assert got["spec"]["size"] == 5


def test_label_selector_and_watch(gadgets):
    for name, tier in [("w1", "a"), ("w2", "b")]:
        gadgets.create_namespaced_custom_object(
            GROUP, "v1", "default", PLURAL, _gadget(name, labels={"tier": tier})
        )
    items = gadgets.list_namespaced_custom_object(GROUP, "v1", "default", PLURAL, label_selector="tier=b")
    assert [i["metadata"]["name"] for i in items["items"]] == ["w2"]

    rv = items["metadata"]["resourceVersion"]
    gadgets.patch_namespaced_custom_object(
        GROUP, "v1", "default", PLURAL, "w2", {"metadata": {"labels": {"seen": "yes"}}}
    )
    w = watch.Watch()
    events = []
    for ev in w.stream(
        gadgets.list_namespaced_custom_object,
        GROUP,
        "v1",
        "default",
        PLURAL,
        resource_version=rv,
        timeout_seconds=5,
    ):
        events.append((ev["type"], ev["object"]["metadata"]["name"]))
        if ev["type"] == "MODIFIED":
            w.stop()
    assert ("MODIFIED", "w2") in events


def test_deleting_the_crd_removes_its_objects(server, gadgets):
    ext = client.ApiextensionsV1Api(server)
    gadgets.create_namespaced_custom_object(GROUP, "v1", "default", PLURAL, _gadget("doomed"))
    ext.delete_custom_resource_definition(f"{PLURAL}.{GROUP}")

    def gone():
        try:
            ext.read_custom_resource_definition(f"{PLURAL}.{GROUP}")
            return False
        except ApiException as e:
            return e.status == 404

    _wait("the CRD to be deleted", gone)
    with pytest.raises(ApiException) as e:
        gadgets.list_namespaced_custom_object(GROUP, "v1", "default", PLURAL)
    assert e.value.status == 404

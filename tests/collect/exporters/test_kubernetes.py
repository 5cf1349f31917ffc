"""The Kubernetes collector against a local HTTP server that answers the API's documented
list responses (``NodeList``, ``PodList``, ``DeploymentList``), through a kubeconfig the test
writes (bearer token auth)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from vigil.collect.exporters import CollectorError, KubernetesCollector, build_local_targets
from vigil.config.model import CollectorsConfig, KubernetesCollectorConfig

from .conftest import free_port
from .pages import values

TOKEN = "s3cret-token"

NODES = {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": [
    {"metadata": {"name": "node-a"}, "spec": {},
     "status": {"conditions": [
         {"type": "Ready", "status": "True", "reason": "KubeletReady"},
         {"type": "MemoryPressure", "status": "False"}]}},
    {"metadata": {"name": "node-b"}, "spec": {"unschedulable": True},
     "status": {"conditions": [{"type": "Ready", "status": "Unknown",
                                "reason": "NodeStatusUnknown"}]}},
]}


def pod(namespace: str, name: str, phase: str, *containers: tuple[str, int, bool, str | None]) -> dict:
    statuses = [{"name": c, "restartCount": restarts, "ready": ready, "image": "x",
                 "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
                for c, restarts, ready, waiting in containers]
    return {"metadata": {"namespace": namespace, "name": name, "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": c[0]} for c in containers]},
            "status": {"phase": phase, "containerStatuses": statuses}}


PODS = {
    "shop": [pod("shop", "web-1", "Running", ("web", 0, True, None), ("sidecar", 2, True, None)),
             pod("shop", "web-2", "Running", ("web", 7, False, "CrashLoopBackOff"))],
    "batch": [pod("batch", "job-1", "Succeeded", ("job", 0, False, None)),
              {"metadata": {"namespace": "batch", "name": "job-2"}, "status": {"phase": "Pending"}}],
}
DEPLOYMENTS = {
    "shop": [{"metadata": {"namespace": "shop", "name": "web"}, "spec": {"replicas": 3},
              "status": {"replicas": 3, "availableReplicas": 2, "unavailableReplicas": 1,
                         "updatedReplicas": 3}}],
    "batch": [{"metadata": {"namespace": "batch", "name": "worker"}, "spec": {},
               "status": {}}],
}


@dataclass
class FakeAPIServer:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)
    forbid_nodes: bool = False


@pytest.fixture
def api_server() -> Iterator[FakeAPIServer]:
    state = FakeAPIServer("")

    def paged(path: str) -> dict | None:
        """The list, one ``limit``-sized page at a time; ``continue`` is the next offset."""
        body = lists(path)
        query = parse_qs(urlsplit(path).query)
        if body is None or "limit" not in query:
            return body
        limit, start = int(query["limit"][0]), int(query.get("continue", ["0"])[0])
        items = body["items"]
        more = start + limit < len(items)
        return {**body, "items": items[start:start + limit],
                "metadata": {"continue": str(start + limit)} if more else {}}

    def lists(path: str) -> dict | None:
        parts = path.split("?")[0].strip("/").split("/")
        if parts == ["api", "v1", "nodes"]:
            return NODES
        if parts == ["api", "v1", "pods"]:
            return {"kind": "PodList", "items": [p for ps in PODS.values() for p in ps]}
        if parts[:3] == ["api", "v1", "namespaces"] and parts[4:] == ["pods"]:
            return {"kind": "PodList", "items": PODS.get(parts[3], [])}
        if parts == ["apis", "apps", "v1", "deployments"]:
            return {"kind": "DeploymentList", "items": [d for ds in DEPLOYMENTS.values() for d in ds]}
        if parts[:4] == ["apis", "apps", "v1", "namespaces"] and parts[5:] == ["deployments"]:
            return {"kind": "DeploymentList", "items": DEPLOYMENTS.get(parts[4], [])}
        return None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.requests.append((self.path, self.headers.get("Authorization", "")))
            status, body = 200, paged(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, body = 401, {"kind": "Status", "status": "Failure",
                                     "message": "Unauthorized", "code": 401}
            elif state.forbid_nodes and self.path.startswith("/api/v1/nodes"):
                status, body = 403, {
                    "kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
                    "message": 'nodes is forbidden: User "system:serviceaccount:shop:vigil" '
                               'cannot list resource "nodes" in API group "" at the cluster scope'}
            elif body is None:
                status, body = 404, {"kind": "Status", "message": "not found", "code": 404}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, server: str, token: str = TOKEN) -> Path:
    path.write_text(json.dumps({  # JSON is YAML
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "farm", "cluster": {"server": server}},
                     {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "vigil", "user": {"token": token}}],
        "contexts": [{"name": "farm", "context": {"cluster": "farm", "user": "vigil"}},
                     {"name": "other", "context": {"cluster": "nowhere", "user": "vigil"}}],
    }))
    return path


def collector(kubeconfig: Path, page_size: int = 500, **kw: object) -> KubernetesCollector:
    return KubernetesCollector(KubernetesCollectorConfig.model_validate(
        {"name": "farm", "kubeconfig": str(kubeconfig), "context": "farm", "timeout": "2s", **kw}),
        page_size=page_size)


def test_cluster_wide_state_with_kube_state_metrics_names(
        api_server: FakeAPIServer, tmp_path: Path) -> None:
    v = values(collector(write_kubeconfig(tmp_path / "kubeconfig", api_server.url)).collect())
    assert {auth for _, auth in api_server.requests} == {f"Bearer {TOKEN}"}
    assert sorted(p.split("?")[0] for p, _ in api_server.requests) == [
        "/api/v1/nodes", "/api/v1/pods", "/apis/apps/v1/deployments"]
    cond = 'kube_node_status_condition{condition="%s",node="%s",status="%s"}'
    assert v[cond % ("Ready", "node-a", "true")] == 1
    assert v[cond % ("Ready", "node-a", "false")] == 0
    assert v[cond % ("Ready", "node-a", "unknown")] == 0
    assert v[cond % ("MemoryPressure", "node-a", "false")] == 1
    assert v[cond % ("Ready", "node-b", "unknown")] == 1
    assert v['kube_node_spec_unschedulable{node="node-b"}'] == 1
    phase = 'kube_pod_status_phase{namespace="%s",phase="%s",pod="%s"}'
    assert v[phase % ("shop", "Running", "web-2")] == 1
    assert v[phase % ("shop", "Pending", "web-2")] == 0
    assert v[phase % ("batch", "Pending", "job-2")] == 1
    assert sum(val for k, val in v.items() if k.startswith("kube_pod_status_phase")) == 4
    restarts = 'kube_pod_container_status_restarts_total{container="%s",namespace="shop",pod="%s"}'
    assert v[restarts % ("web", "web-2")] == 7
    assert v[restarts % ("sidecar", "web-1")] == 2
    assert v['kube_pod_container_status_waiting_reason{container="web",namespace="shop",'
             'pod="web-2",reason="CrashLoopBackOff"}'] == 1
    assert v['kube_pod_container_status_ready{container="web",namespace="shop",pod="web-2"}'] == 0
    dep = '%s{deployment="%s",namespace="%s"}'
    assert v[dep % ("kube_deployment_spec_replicas", "web", "shop")] == 3
    assert v[dep % ("kube_deployment_status_replicas_available", "web", "shop")] == 2
    assert v[dep % ("kube_deployment_status_replicas_unavailable", "web", "shop")] == 1
    assert v[dep % ("kube_deployment_spec_replicas", "worker", "batch")] == 1  # API default
    assert v[dep % ("kube_deployment_status_replicas_available", "worker", "batch")] == 0
    assert v['vigil_collector_up{collector="farm"}'] == 1


def test_namespaces_limit_pods_and_deployments(api_server: FakeAPIServer, tmp_path: Path) -> None:
    kc = collector(write_kubeconfig(tmp_path / "kubeconfig", api_server.url),
                   namespaces=["shop"])
    v = values(kc.collect())
    assert sorted(p.split("?")[0] for p, _ in api_server.requests) == [
        "/api/v1/namespaces/shop/pods", "/api/v1/nodes",
        "/apis/apps/v1/namespaces/shop/deployments"]
    assert not any('namespace="batch"' in k for k in v)
    assert any('pod="web-1"' in k for k in v)


def test_lists_are_read_page_by_page(api_server: FakeAPIServer, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api_server.url)
    whole = values(collector(kubeconfig).collect())
    api_server.requests.clear()
    paged = values(collector(kubeconfig, page_size=1).collect())
    assert paged == whole
    pod_requests = [p for p, _ in api_server.requests if p.startswith("/api/v1/pods")]
    assert len(pod_requests) == 4  # four pods, one per page
    assert all("limit=1" in p for p in pod_requests)
    assert sum("continue=" in p for p in pod_requests) == 3


def test_a_forbidden_list_is_reported_and_the_rest_kept(
        api_server: FakeAPIServer, tmp_path: Path) -> None:
    api_server.forbid_nodes = True
    v = values(collector(write_kubeconfig(tmp_path / "kubeconfig", api_server.url)).collect())
    assert v['vigil_collector_up{collector="farm"}'] == 0
    (error,) = [k for k in v if k.startswith("vigil_collector_last_error_info")]
    assert "nodes: 403 Forbidden: nodes is forbidden" in error
    assert not any(k.startswith("kube_node_") for k in v)
    assert any(k.startswith("kube_pod_status_phase") for k in v)


def test_wrong_token_unreachable_server_and_bad_kubeconfig(
        api_server: FakeAPIServer, tmp_path: Path) -> None:
    v = values(collector(write_kubeconfig(tmp_path / "k1", api_server.url, token="wrong")).collect())
    (error,) = [k for k in v if k.startswith("vigil_collector_last_error_info")]
    assert "401 Unauthorized" in error and "wrong" not in error

    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CollectorError, match=r"kubernetes farm: .*connection refused"):
        collector(write_kubeconfig(tmp_path / "k2", dead)).collect()
    with pytest.raises(CollectorError, match=r"kubernetes farm: .*missing"):
        collector(tmp_path / "missing").collect()
    with pytest.raises(CollectorError, match="(?i)kubernetes farm: .*context"):
        collector(write_kubeconfig(tmp_path / "k3", api_server.url), context="nope").collect()


def test_config_and_local_target(tmp_path: Path) -> None:
    collectors = CollectorsConfig.model_validate({"kubernetes": [
        {"name": "farm", "kubeconfig": str(tmp_path / "kc"), "interval": "1m"},
        {"name": "in-cluster", "namespaces": ["shop", "batch"]}]})
    assert collectors.kubernetes[0].namespaces == "all"
    assert collectors.kubernetes[1].kubeconfig is None
    targets = build_local_targets(collectors)
    assert [(t.job, t.instance, t.interval_s) for t in targets] == [
        ("kubernetes", "farm", 60.0), ("kubernetes", "in-cluster", None)]
    with pytest.raises(ValueError, match="unique"):
        CollectorsConfig.model_validate({"kubernetes": [{"name": "a"}, {"name": "a"}]})

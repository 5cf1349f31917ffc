"""Kubernetes cluster state (C7), named as kube-state-metrics names it.

Read from the API server with the official ``kubernetes`` client, through a kubeconfig file
(``kubeconfig``, optional ``context``) or in-cluster (``kubeconfig: null``: the pod's service
account token and CA). Each :meth:`KubernetesCollector.collect` lists nodes, pods and
deployments (pods and deployments per configured namespace, or cluster-wide for ``all``) and
renders:

    kube_node_status_condition{node,condition,status}       1 for the condition's status,
                                                            0 for the other two of
                                                            true/false/unknown
    kube_node_spec_unschedulable{node}                      1 if cordoned
    kube_pod_status_phase{namespace,pod,phase}              1 for the current phase, 0 for
                                                            the other four
    kube_pod_container_status_restarts_total{namespace,pod,container}   counter
    kube_pod_container_status_ready{namespace,pod,container}
    kube_pod_container_status_waiting_reason{namespace,pod,container,reason}   1 while waiting
    kube_deployment_spec_replicas{namespace,deployment}
    kube_deployment_status_replicas{namespace,deployment}
    kube_deployment_status_replicas_available{namespace,deployment}
    kube_deployment_status_replicas_unavailable{namespace,deployment}
    kube_deployment_status_replicas_updated{namespace,deployment}
    vigil_collector_up{collector}, vigil_collector_last_error_info{collector,error}

kube-state-metrics 2.x also puts a ``uid`` label on pod series; Vigil leaves it out, since
(namespace, pod) already identifies a pod at any one time and rules never group by ``uid``.

Failures: if the kubeconfig cannot be loaded or the API server cannot be reached at all,
``collect`` raises :class:`CollectorError` (the target's last error says why). If only some
lists fail (a namespace-scoped service account may not list nodes, say), the rest is still
reported with ``vigil_collector_up`` 0 and the reasons in ``vigil_collector_last_error_info``.
Lists are fetched as raw JSON (``_preload_content=False``) in pages of ``page_size`` items
(the API's ``limit``/``continue``), so a big cluster costs no model objects and no single
huge response.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import urllib3

from vigil.collect.exporters._expfmt import CollectorError, Page
from vigil.config.model import KubernetesCollectorConfig

if TYPE_CHECKING:  # the client takes a fifth of a second to import: only when used
    from kubernetes import client as k8s_client
    from kubernetes.client.exceptions import ApiException

__all__ = ["KubernetesCollector"]

_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_CONDITION_STATUSES = ("true", "false", "unknown")
_DEPLOYMENT_STATUS = (
    ("replicas", "kube_deployment_status_replicas",
     "The number of replicas per deployment."),
    ("availableReplicas", "kube_deployment_status_replicas_available",
     "The number of available replicas per deployment."),
    ("unavailableReplicas", "kube_deployment_status_replicas_unavailable",
     "The number of unavailable replicas per deployment."),
    ("updatedReplicas", "kube_deployment_status_replicas_updated",
     "The number of updated replicas per deployment."),
)

Item = dict[str, Any]


class _Unreachable(Exception):
    """The API server did not answer at all (as opposed to answering with an error)."""


class KubernetesCollector:
    """Collects one cluster. Safe to call from one thread at a time.

    The API client is built on the first ``collect`` (no I/O in the constructor) and rebuilt
    after a failure, so a fixed kubeconfig or a rotated token is picked up.
    """

    def __init__(self, config: KubernetesCollectorConfig, *, page_size: int = 500) -> None:
        self.config = config
        self._page_size = page_size
        self._lock = threading.Lock()
        self._api: k8s_client.ApiClient | None = None

    def collect(self) -> str:
        """The exposition page; raises :class:`CollectorError` if the cluster is unreachable."""
        from kubernetes import client as k8s_client
        from kubernetes.client.exceptions import ApiException

        cfg = self.config
        with self._lock:
            api = self._api or self._connect()
            core, apps = k8s_client.CoreV1Api(api), k8s_client.AppsV1Api(api)
            page = Page()
            errors: list[str] = []
            sections: list[tuple[str, Callable[[], Iterator[Item]], Callable[[Page, Item], None]]]
            sections = [
                ("nodes", lambda: self._list(core.list_node), _node),
                ("pods", lambda: self._list_namespaced(
                    core.list_pod_for_all_namespaces, core.list_namespaced_pod), _pod),
                ("deployments", lambda: self._list_namespaced(
                    apps.list_deployment_for_all_namespaces, apps.list_namespaced_deployment),
                 _deployment),
            ]
            for what, fetch, render in sections:
                try:
                    items = list(fetch())
                except _Unreachable as e:
                    # The server is down or unreachable: the other lists would only wait
                    # for their own timeouts.
                    self._close()
                    raise CollectorError(f"kubernetes {cfg.name}: "
                                         f"{api.configuration.host}: {e}") from None
                except ApiException as e:
                    errors.append(f"{what}: {_describe_api_error(e)}")
                    continue
                for item in items:
                    render(page, item)
        page.collector_health(cfg.name, errors)
        return page.text()

    def close(self) -> None:
        """Drop the API client and its connections. ``collect`` reconnects."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            api.close()

    def _connect(self) -> k8s_client.ApiClient:
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        cfg = self.config
        conf = k8s_client.Configuration()
        try:
            if cfg.kubeconfig is None:
                k8s_config.load_incluster_config(client_configuration=conf)
            else:
                k8s_config.load_kube_config(config_file=cfg.kubeconfig, context=cfg.context,
                                            client_configuration=conf, persist_config=False)
        except (k8s_config.ConfigException, OSError, ValueError) as e:
            where = cfg.kubeconfig or "in-cluster config"
            raise CollectorError(f"kubernetes {cfg.name}: {where}: {e}") from None
        # No retries inside a scrape: the next scrape is the retry, and a failing scrape
        # must end within its timeout.
        conf.retries = 0
        self._api = k8s_client.ApiClient(conf)
        return self._api

    def _list(self, method: Callable[..., Any], *args: str) -> Iterator[Item]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": self._page_size}
            if token:
                kwargs["_continue"] = token
            try:
                resp = method(*args, _preload_content=False,
                              _request_timeout=self.config.timeout, **kwargs)
            except urllib3.exceptions.HTTPError as e:
                raise _Unreachable(_describe_network_error(e)) from None
            try:
                data = json.loads(resp.data)
            except ValueError:
                from kubernetes.client.exceptions import ApiException
                raise ApiException(status=resp.status,
                                   reason="response is not JSON") from None
            finally:
                resp.release_conn()
            yield from data.get("items") or ()
            token = (data.get("metadata") or {}).get("continue")
            if not token:
                return

    def _list_namespaced(self, all_namespaces: Callable[..., Any],
                         namespaced: Callable[..., Any]) -> Iterator[Item]:
        if self.config.namespaces == "all":
            yield from self._list(all_namespaces)
            return
        for namespace in self.config.namespaces:
            yield from self._list(namespaced, namespace)


def _describe_api_error(e: ApiException) -> str:
    """``403 Forbidden: nodes is forbidden: User "x" cannot list ...`` from a Status body."""
    text = f"{e.status} {e.reason}".strip()
    try:
        message = json.loads(e.body or "").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"{text}: {message}" if message else text


def _describe_network_error(e: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(e, "reason", None) or e
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.TimeoutError) or "timed out" in text:
        return "timeout"
    return text.split(": ", 1)[-1] if ": " in text else text


def _node(page: Page, node: Item) -> None:
    name = node.get("metadata", {}).get("name", "")
    page.family("kube_node_status_condition", "gauge",
                "The condition of a cluster node.")
    for cond in node.get("status", {}).get("conditions") or ():
        current = str(cond.get("status", "Unknown")).lower()
        for status in _CONDITION_STATUSES:
            page.sample("kube_node_status_condition", 1 if status == current else 0,
                        {"node": name, "condition": cond.get("type", ""), "status": status})
    page.sample("kube_node_spec_unschedulable",
                1 if node.get("spec", {}).get("unschedulable") else 0, {"node": name},
                help_text="Whether a node can schedule new pods.")


def _pod(page: Page, pod: Item) -> None:
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    labels = {"namespace": meta.get("namespace", ""), "pod": meta.get("name", "")}
    phase = status.get("phase") or "Unknown"
    page.family("kube_pod_status_phase", "gauge", "The pods current phase.")
    for p in _PHASES:
        page.sample("kube_pod_status_phase", 1 if p == phase else 0, {**labels, "phase": p})
    page.family("kube_pod_container_status_restarts_total", "counter",
                "The number of container restarts per container.")
    page.family("kube_pod_container_status_ready", "gauge",
                "Describes whether the containers readiness check succeeded.")
    page.family("kube_pod_container_status_waiting_reason", "gauge",
                "Describes the reason the container is currently in waiting state.")
    for cs in status.get("containerStatuses") or ():
        c_labels = {**labels, "container": cs.get("name", "")}
        page.sample("kube_pod_container_status_restarts_total", cs.get("restartCount", 0),
                    c_labels)
        page.sample("kube_pod_container_status_ready", 1 if cs.get("ready") else 0, c_labels)
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting is not None and waiting.get("reason"):
            page.sample("kube_pod_container_status_waiting_reason", 1,
                        {**c_labels, "reason": waiting["reason"]})


def _deployment(page: Page, deployment: Item) -> None:
    meta = deployment.get("metadata", {})
    labels = {"namespace": meta.get("namespace", ""), "deployment": meta.get("name", "")}
    spec_replicas = deployment.get("spec", {}).get("replicas")
    page.sample("kube_deployment_spec_replicas", 1 if spec_replicas is None else spec_replicas,
                labels, help_text="Number of desired pods for a deployment.")
    status = deployment.get("status", {})
    for field, metric, help_text in _DEPLOYMENT_STATUS:
        page.sample(metric, status.get(field) or 0, labels, help_text=help_text)

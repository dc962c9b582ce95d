"""A small evaluator of Kubernetes NetworkPolicy, for tests over rendered manifests.

It follows the API's rules: a pod selected by no policy of a direction is open in that
direction; once selected, a connection needs a rule of a selecting policy whose peers and ports
match. A connection is allowed when the source may send it (egress) and the target may take
it (ingress). Endpoints are pods (namespace labels, pod labels) or the outside world
(``OUTSIDE``, an address beyond the cluster). Only what our manifests use is modelled: pod and
namespace selectors, ``ipBlock`` without ``except``, numeric ports.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any


@dataclasses.dataclass(frozen=True)
class Pod:
    """A pod, by the labels of its namespace and its own."""

    namespace: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]


OUTSIDE = "outside"
"""An address outside the cluster (a model provider, an operator's browser)."""
Endpoint = Pod | str
OUTSIDE_ADDRESS = ipaddress.ip_address("203.0.113.10")


def pod(namespace: str, labels: dict[str, str]) -> Pod:
    """A pod of ``namespace`` (by the label Kubernetes gives every namespace) with ``labels``."""
    return Pod((("kubernetes.io/metadata.name", namespace),), tuple(sorted(labels.items())))


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions) selects ``labels``; {} selects all."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


class Policies:
    """The NetworkPolicies of one namespace."""

    def __init__(self, objects: list[dict[str, Any]], namespace: str) -> None:
        self.namespace = namespace
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        assert all(o["metadata"].get("namespace") == namespace for o in self.policies)

    def _ours(self, endpoint: Endpoint) -> bool:
        return (
            isinstance(endpoint, Pod)
            and dict(endpoint.namespace).get("kubernetes.io/metadata.name") == self.namespace
        )

    def _peer(self, peer: dict[str, Any], other: Endpoint) -> bool:
        if "ipBlock" in peer:
            assert not peer["ipBlock"].get("except"), "the evaluator does not model except"
            return other == OUTSIDE and OUTSIDE_ADDRESS in ipaddress.ip_network(peer["ipBlock"]["cidr"])
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            in_namespace = selects(peer["namespaceSelector"], dict(other.namespace))
        else:
            in_namespace = self._ours(other)
        return in_namespace and selects(peer.get("podSelector"), dict(other.labels))

    @staticmethod
    def _port(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
        return not ports or any(
            p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports
        )

    def _open(self, subject: Endpoint, other: Endpoint, port: int, protocol: str, direction: str) -> bool:
        if not self._ours(subject):
            return True  # another namespace's policies are not ours to model
        assert isinstance(subject, Pod)
        kind, peers_key = ("Egress", "to") if direction == "egress" else ("Ingress", "from")
        selecting = [
            p
            for p in self.policies
            if kind in p["spec"].get("policyTypes", ["Ingress"])
            and selects(p["spec"]["podSelector"], dict(subject.labels))
        ]
        if not selecting:
            return True
        return any(
            (not rule.get(peers_key) or any(self._peer(peer, other) for peer in rule[peers_key]))
            and self._port(rule.get("ports"), port, protocol)
            for p in selecting
            for rule in p["spec"].get(direction) or []
        )

    def allowed(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether ``source`` may open a connection to ``target`` on ``port``."""
        return self._open(source, target, port, protocol, "egress") and self._open(
            target, source, port, protocol, "ingress"
        )

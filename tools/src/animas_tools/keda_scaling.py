"""agent-runner's KEDA ScaledObject, generated: one ``nats-jetstream`` trigger per partition.

agent-runner takes messages, heartbeats and crons from one durable consumer per ACTIVITY
partition (``agent-runner-p<p>``, shared by every replica). KEDA's nats-jetstream scaler reads
one consumer's lag per trigger, so the object has a trigger per partition, and a
``scalingModifiers`` formula adds them up: the replica count follows the whole backlog
(``ceil(sum of lags / TARGET_LAG_PER_REPLICA)``, between the minimum and the maximum) rather
than the longest single partition, which one replica works off at a time anyway.

``python -m animas_tools.infra write`` regenerates ``infra/k8s-keda/agent-runner-scaledobject.yaml``
from this module; ``check`` fails when the committed file differs. tests/unit checks that the
consumer names are the ones agent-runner really creates.
"""

from __future__ import annotations

from pathlib import Path

from animas_contracts.subjects import DEFAULT_ACTIVITY_PARTITIONS

SCALED_OBJECT_FILE = (
    Path(__file__).resolve().parents[3] / "infra" / "k8s-keda" / "agent-runner-scaledobject.yaml"
)
NAMESPACE = "animaworks"
"""infra/k8s/kustomization.yaml's namespace: KEDA runs elsewhere, so the endpoint names it."""
MONITORING_ENDPOINT = f"nats-headless.{NAMESPACE}.svc.cluster.local:8222"
"""The headless service: in a cluster the scaler asks the consumer's leader at
``<server_name>.<endpoint>``, and the members' server names are their pod names (nats-0...)."""
ACCOUNT = "ANIMAWORKS"
"""The one account of infra/nats/accounts.conf."""
STREAM = "ACTIVITY"
MIN_REPLICAS = 2
"""Two, as the PodDisruptionBudget assumes: a drained node never leaves no runner."""
MAX_REPLICAS = 8
TARGET_LAG_PER_REPLICA = 10
"""Events waiting per replica before another one is added: a starting point to tune."""

HEADER = """\
# KEDA scales agent-runner on the JetStream consumer lag of its partitions (DESIGN §9).
#
# GENERATED from tools/src/animas_tools/keda_scaling.py by `python -m animas_tools.infra write`;
# CI fails when it drifts; do not edit. Applied by the overlay in this folder
# (kubectl apply -k infra/k8s-keda), which needs KEDA (2.12 or later) in the cluster.
"""


def durables(partitions: int = DEFAULT_ACTIVITY_PARTITIONS) -> list[str]:
    """agent-runner's message-lane consumers, in partition order."""
    return [f"agent-runner-p{p}" for p in range(partitions)]


def scaled_object(partitions: int = DEFAULT_ACTIVITY_PARTITIONS) -> dict[str, object]:
    """The ScaledObject as a document."""
    names = [f"p{p}" for p in range(partitions)]
    triggers = [
        {
            "type": "nats-jetstream",
            "name": name,
            "metadata": {
                "natsServerMonitoringEndpoint": MONITORING_ENDPOINT,
                "account": ACCOUNT,
                "stream": STREAM,
                "consumer": durable,
                "lagThreshold": str(TARGET_LAG_PER_REPLICA),
            },
        }
        for name, durable in zip(names, durables(partitions), strict=True)
    ]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": "agent-runner",
            "labels": {"app.kubernetes.io/name": "agent-runner", "app.kubernetes.io/part-of": "animaworks"},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent-runner"},
            "minReplicaCount": MIN_REPLICAS,
            "maxReplicaCount": MAX_REPLICAS,
            "pollingInterval": 30,
            # A cycle can take minutes: shrink slowly so a replica is not taken mid-burst.
            "cooldownPeriod": 300,
            "advanced": {
                "scalingModifiers": {
                    "formula": " + ".join(names),
                    "target": str(TARGET_LAG_PER_REPLICA),
                    "metricType": "AverageValue",
                },
            },
            "triggers": triggers,
        },
    }


def render_scaled_object() -> str:
    """The whole generated file."""
    import yaml  # type: ignore[import-untyped, unused-ignore]  # a dev tool; only this needs it

    body: str = yaml.safe_dump(scaled_object(), sort_keys=False, width=120)
    return HEADER + body

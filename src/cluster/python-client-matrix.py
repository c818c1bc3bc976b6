"""The official Python client (Debian's python3-kubernetes) against a kubethreads
cluster: run by src/cluster/python-client.test.ts as
    /usr/bin/python3 python-client-matrix.py KUBECONFIG
Each check prints one line `ok <name>: <detail>`; the first failure raises,
and the traceback reaches the test through stderr with a non-zero exit."""
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"
DEADLINE_S = 60


def ok(name, detail):
    print(f"ok {name}: {detail}", flush=True)


def until(what, probe):
    """Polls probe() until it returns something truthy; raises after DEADLINE_S."""
    end = time.monotonic() + DEADLINE_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()

# List with pagination: limit and continue walk every object exactly once.
for i in range(7):
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"page-{i}", labels={"set": "page"}), data={"i": str(i)}))
names, pages, token = [], 0, None
while True:
    page = core.list_namespaced_config_map(NS, label_selector="set=page", limit=3, _continue=token)
    pages += 1
    assert len(page.items) <= 3, f"a page of {len(page.items)} items for limit=3"
    names += [c.metadata.name for c in page.items]
    token = page.metadata._continue
    if not token:
        break
assert sorted(names) == [f"page-{i}" for i in range(7)], names
assert pages == 3, f"7 items at limit=3 took {pages} pages"
ok("pagination", f"7 config maps in {pages} pages")

# Optimistic concurrency: a write with a stale resourceVersion is a 409 Conflict.
first = core.read_namespaced_config_map("page-0", NS)
stale_rv = first.metadata.resource_version
first.data = {"i": "changed"}
core.replace_namespaced_config_map("page-0", NS, first)
stale = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="page-0", resource_version=stale_rv), data={"i": "lost update"})
try:
    core.replace_namespaced_config_map("page-0", NS, stale)
    raise AssertionError("a replace with a stale resourceVersion succeeded")
except ApiException as e:
    assert e.status == 409, f"stale resourceVersion answered {e.status}, not 409"
assert core.read_namespaced_config_map("page-0", NS).data == {"i": "changed"}, "the stale write changed nothing"
ok("conflict", "stale resourceVersion -> 409, the newer write kept")

# Watch from a resourceVersion: only what happened after it, in order.
since = core.list_namespaced_config_map(NS, label_selector="set=watch").metadata.resource_version
core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched", labels={"set": "watch"}), data={"v": "1"}))
core.patch_namespaced_config_map("watched", NS, {"data": {"v": "2"}})
core.delete_namespaced_config_map("watched", NS)
seen = []
w = watch.Watch()
for event in w.stream(core.list_namespaced_config_map, NS, label_selector="set=watch", resource_version=since, timeout_seconds=20):
    seen.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("v")))
    if len(seen) == 3:
        w.stop()
assert seen == [("ADDED", "watched", "1"), ("MODIFIED", "watched", "2"), ("DELETED", "watched", "2")], seen
ok("watch", f"from resourceVersion {since}: " + ", ".join(t for t, _, _ in seen))


def rolled_out(name, generation, replicas, image):
    d = apps.read_namespaced_deployment(name, NS)
    s = d.status
    done = (s.observed_generation or 0) >= generation and (s.updated_replicas or 0) == replicas \
        and (s.replicas or 0) == replicas and (s.available_replicas or 0) == replicas
    return done and d.spec.template.spec.containers[0].image == image and d


# A Deployment created, scaled and rolled; each step waited for through its status, as `kubectl rollout status` does.
labels = {"app": "py"}
spec = client.V1DeploymentSpec(
    replicas=2,
    selector=client.V1LabelSelector(match_labels=labels),
    template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.26")])),
)
d = apps.create_namespaced_deployment(NS, client.V1Deployment(metadata=client.V1ObjectMeta(name="py"), spec=spec))
until("2 replicas of nginx:1.26", lambda: rolled_out("py", d.metadata.generation, 2, "nginx:1.26"))
d = apps.patch_namespaced_deployment_scale("py", NS, {"spec": {"replicas": 3}})
until("3 replicas after the scale", lambda: rolled_out("py", apps.read_namespaced_deployment("py", NS).metadata.generation, 3, "nginx:1.26"))
d = apps.patch_namespaced_deployment("py", NS, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
until("the roll to nginx:1.27", lambda: rolled_out("py", d.metadata.generation, 3, "nginx:1.27"))
pods = until("3 running pods of nginx:1.27", lambda: (lambda ps: len(ps) == 3 and ps)([
    p for p in core.list_namespaced_pod(NS, label_selector="app=py").items
    if p.status.phase == "Running" and p.spec.containers[0].image == "nginx:1.27" and p.metadata.deletion_timestamp is None
]))
rs = [r for r in apps.list_namespaced_replica_set(NS, label_selector="app=py").items]
assert len(rs) == 2, f"a roll leaves the old ReplicaSet scaled to 0 beside the new one: {[(r.metadata.name, r.spec.replicas) for r in rs]}"
assert sorted(r.spec.replicas for r in rs) == [0, 3], [(r.metadata.name, r.spec.replicas) for r in rs]
ok("deployment", "created at 2, scaled to 3, rolled to nginx:1.27 (old ReplicaSet at 0)")

# Pod logs through pods/log.
log = core.read_namespaced_pod_log(pods[0].metadata.name, NS, container="web")
assert "nginx:1.27" in log, f"the log of {pods[0].metadata.name} does not name its image: {log!r}"
ok("logs", f"{pods[0].metadata.name}: {log.splitlines()[0]}")

# Foreground deletion: the Deployment stays (deletionTimestamp, foregroundDeletion finalizer) until its dependents are gone.
apps.delete_namespaced_deployment("py", NS, body=client.V1DeleteOptions(propagation_policy="Foreground"))
blocked = None
try:
    blocked = apps.read_namespaced_deployment("py", NS)
except ApiException as e:
    if e.status != 404:
        raise
if blocked is not None:
    assert blocked.metadata.deletion_timestamp is not None, "a Deployment being deleted in the foreground has a deletionTimestamp"
    assert "foregroundDeletion" in (blocked.metadata.finalizers or []), blocked.metadata.finalizers


def gone():
    try:
        apps.read_namespaced_deployment("py", NS)
        return False
    except ApiException as e:
        if e.status != 404:
            raise
    left_rs = apps.list_namespaced_replica_set(NS, label_selector="app=py").items
    left_pods = core.list_namespaced_pod(NS, label_selector="app=py").items
    return not left_rs and not left_pods


until("the Deployment, its ReplicaSets and pods to be gone", gone)
ok("foreground-deletion", "held by foregroundDeletion" if blocked is not None else "already gone", )

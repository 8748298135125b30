"""Starts a real API server (etcd + kube-apiserver + kwok) with N simulated
nodes and runs k8s-bench against it. Usage: with_cluster.py K8S_BENCH [--nodes N] [k8s-bench flags]"""

import subprocess
import sys
import time

from kube_cluster import KubeCluster


def main():
    args = sys.argv[1:]
    binary, rest = args[0], args[1:]
    nodes = 1000
    if "--nodes" in rest:
        i = rest.index("--nodes")
        nodes = int(rest[i + 1])
        del rest[i:i + 2]
    with KubeCluster() as c:
        print(f"cluster up in {c.start_seconds:.1f}s", flush=True)
        c.create_namespace("bench")
        t0 = time.monotonic()
        c.add_nodes(nodes, cpu="32", memory="128Gi", prefix="sim")
        c.wait_for(lambda: len(c.list("/api/v1/nodes")) >= nodes, timeout=300, what="nodes")
        print(f"{nodes} nodes created in {time.monotonic() - t0:.1f}s", flush=True)
        rc = subprocess.call([binary, "--kubeconfig", str(c.kubeconfig_path), "--namespace", "bench", *rest])
    sys.exit(rc)


if __name__ == "__main__":
    main()

"""The example notebook, run headless as a user's Jupyter would run it: a real
ipykernel (the venv's Python) executes examples/notebooks/interactive.ipynb
against a real sessiond, and its printed results, the daemon's executor
launch and the session's end are checked."""

import json
import subprocess
import sys

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from spark_harness import BUILD, PLUGIN_JAR, ROOT, TENANT_A_TOKEN, marked_pids, spark_env, wait_for

NOTEBOOK = ROOT / "examples" / "notebooks" / "interactive.ipynb"


def venv_kernel(tmp_path):
    """A python3 kernelspec of our own that runs this venv's Python: a
    system-wide python3 kernelspec would otherwise win and lack pyspark."""
    prefix = tmp_path / "jupyter"
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", "python3"],
                   check=True, capture_output=True)
    kernels = prefix / "share" / "jupyter" / "kernels"
    argv = json.loads((kernels / "python3" / "kernel.json").read_text())["argv"]
    assert argv[0] == sys.executable, argv
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)


def outputs(nb):
    """The stream text the code cells printed, as one string."""
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text.append(out["text"])
    return "".join(text)


def test_notebook_runs_an_interactive_session_through_sessiond(spark, tmp_path):
    d = spark.daemon()
    env = spark_env()
    env.update({
        "PYTHONPATH": "%s:%s" % (BUILD / "python", ROOT / "client" / "python"),
        "SESSION_SCHEDULER_SPARK_JAR": str(PLUGIN_JAR),
        "SESSIOND_SERVER": d.server,
        "SESSIOND_TOKEN": TENANT_A_TOKEN,
        "NOTEBOOK_CONSUMER": "/A",
        # Marks the executors so the fixture reaps them whatever happens.
        "NOTEBOOK_SPARK_CONF": json.dumps({"spark.executorEnv.SESSIOND_TEST_DATA": str(d.data_dir)}),
    })
    workdir = tmp_path / "notebook"
    workdir.mkdir()
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    client = NotebookClient(nb, km=venv_kernel(tmp_path), timeout=300, startup_timeout=120,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)

    printed = outputs(nb)
    lines = printed.splitlines()
    assert "RDD_SUM 500500" in lines, printed
    # ids 0..99 by id % 3: (count, sum) per bucket.
    assert [l for l in lines if l.startswith("GROUP ")] == [
        "GROUP 0 34 1683", "GROUP 1 33 1617", "GROUP 2 33 1650"], printed
    assert lines[-1] == "STOPPED", printed
    sid = next(l.split()[1] for l in lines if l.startswith("SESSION "))

    assert "event=executor_launch executor=%s-" % sid in d.log()
    admin = d.client()
    wait_for(lambda: not admin.admin.list_sessions(""), what="session gone")
    wait_for(lambda: not marked_pids(d.data_dir), what="executors stopped")

"""A SparkSession bound to sessiond, for notebooks and scripts:

    from session_scheduler.spark import spark_session
    spark = spark_session("/bank/risk", sla="interactive")

Finds the plugin jar, sets the master to spark-session://HOST:PORT and the
spark.session.* settings; everything else is plain PySpark."""

import os
from pathlib import Path

from .settings import resolve_server, resolve_token

JAR_ENV = "SESSION_SCHEDULER_SPARK_JAR"
JAR_NAME = "spark-session-backend.jar"
SLA_CLASSES = ("interactive", "streaming", "batch")


def find_plugin_jar(env=None):
    """$SESSION_SCHEDULER_SPARK_JAR, else build/jars/ of the source tree this
    package lives in. FileNotFoundError says where it looked."""
    env = os.environ if env is None else env
    if env.get(JAR_ENV):
        jar = Path(env[JAR_ENV])
        if not jar.is_file():
            raise FileNotFoundError("%s=%s: no such file" % (JAR_ENV, jar))
        return str(jar)
    looked = []
    for parent in Path(__file__).resolve().parents:
        jar = parent / "build" / "jars" / JAR_NAME
        looked.append(str(jar))
        if jar.is_file():
            return str(jar)
    raise FileNotFoundError("the Spark plugin jar was not found; build it (cmake --build build) or set %s. "
                            "Looked in: %s" % (JAR_ENV, ", ".join(looked)))


def session_conf(consumer, sla="interactive", server=None, token=None, app_name=None, priority=None,
                 jar=None, conf=None, env=None):
    """The (master, settings) a SparkSession for sessiond needs, checked here
    so a typo fails before a JVM starts."""
    if sla not in SLA_CLASSES:
        raise ValueError("sla=%r: must be one of %s" % (sla, ", ".join(SLA_CLASSES)))
    if not isinstance(consumer, str) or not consumer.startswith("/"):
        raise ValueError("consumer=%r: must be a consumer path like /tenant/team" % (consumer,))
    host, port = resolve_server(server, env=env)
    settings = {
        "spark.session.consumer": consumer,
        "spark.session.sla": sla,
        # The jar must be on the driver's own classpath for Spark to find the
        # cluster manager; executors do not need it.
        "spark.driver.extraClassPath": jar or find_plugin_jar(env=env),
    }
    resolved = resolve_token(token, env=env)
    if resolved:
        settings["spark.session.token"] = resolved
    if app_name:
        settings["spark.app.name"] = app_name
    if priority is not None:
        settings["spark.session.priority"] = str(int(priority))
    for k, v in (conf or {}).items():
        settings[k] = str(v)
    host_text = "[%s]" % host if ":" in host else host
    return "spark-session://%s:%d" % (host_text, port), settings


def spark_session(consumer, sla="interactive", server=None, token=None, app_name=None, priority=None,
                  jar=None, conf=None):
    """A SparkSession whose executors come from sessiond. Spark's own errors
    (a refused session, a bad setting) surface as the JVM raises them."""
    from pyspark.sql import SparkSession  # imported late: the client works without pyspark

    master, settings = session_conf(consumer, sla=sla, server=server, token=token, app_name=app_name,
                                    priority=priority, jar=jar, conf=conf)
    builder = SparkSession.builder.master(master)
    for k, v in settings.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()

"""The notebook helper's settings, without starting Spark."""

import pytest

from session_scheduler import spark


def test_conf_sets_master_settings_and_jar(tmp_path):
    jar = tmp_path / "spark-session-backend.jar"
    jar.write_bytes(b"PK")
    master, conf = spark.session_conf("/bank/risk", sla="interactive", server="10.0.0.5:7000", token="t",
                                      app_name="nb", priority=3, env={spark.JAR_ENV: str(jar)},
                                      conf={"spark.executor.memory": "2g"})
    assert master == "spark-session://10.0.0.5:7000"
    assert conf["spark.session.consumer"] == "/bank/risk"
    assert conf["spark.session.sla"] == "interactive"
    assert conf["spark.session.token"] == "t"
    assert conf["spark.session.priority"] == "3"
    assert conf["spark.driver.extraClassPath"] == str(jar)
    assert conf["spark.executor.memory"] == "2g"


def test_ipv6_server(tmp_path):
    master, _ = spark.session_conf("/a", server="[::1]:7420", jar="/x.jar", env={})
    assert master == "spark-session://[::1]:7420"


@pytest.mark.parametrize("kw,msg", [({"sla": "gold"}, "sla='gold'"), ({"consumer": "bank"}, "consumer='bank'")])
def test_bad_arguments(kw, msg):
    args = {"consumer": "/a", "jar": "/x.jar", "env": {}}
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        spark.session_conf(**args)


def test_missing_jar_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        spark.find_plugin_jar(env={spark.JAR_ENV: str(tmp_path / "nope.jar")})

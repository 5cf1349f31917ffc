"""The relabelling engine (vigil.model.relabel): every action, Prometheus's defaults and
validation messages, and config errors located at file:line:col."""

from __future__ import annotations

import pytest

from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.model.labels import Labels
from vigil.model.relabel import Relabeller, RelabelStep, check_rule, hashmod

BASE = Labels({"__name__": "up", "job": "node", "instance": "h1:9100", "env": "Prod"})


def run(*steps: RelabelStep, labels: Labels = BASE) -> dict[str, str] | None:
    out = Relabeller(steps).process(labels)
    return None if out is None else out.to_dict()


def test_replace_defaults_groups_named_groups_and_deletion() -> None:
    assert run(RelabelStep(source_labels=["instance"], target_label="host",
                           regex=r"(?P<h>[^:]+):(\d+)", replacement="${h}-$2"))["host"] == "h1-9100"
    # Default regex (.*) and replacement $1 copy the joined values.
    assert run(RelabelStep(source_labels=["job", "env"], target_label="x"))["x"] == "node;Prod"
    # No match: nothing changes; an empty result deletes the target label.
    assert run(RelabelStep(source_labels=["job"], regex="web", target_label="env")) == BASE.to_dict()
    assert "env" not in run(RelabelStep(source_labels=["nope"], target_label="env"))
    # Unknown group refs expand to nothing, $$ is a dollar, anchoring is full.
    assert run(RelabelStep(source_labels=["job"], target_label="x", replacement="$9a$$"))["x"] == "$"
    assert "x" not in run(RelabelStep(source_labels=["job"], regex="od", target_label="x"))
    # Target label from a group; an invalid resulting name leaves the labels unchanged.
    assert run(RelabelStep(source_labels=["job"], regex="(.*)", target_label="l_$1",
                           replacement="v"))["l_node"] == "v"
    assert run(RelabelStep(source_labels=["instance"], regex="(.*)", target_label="$1",
                           replacement="v")) == BASE.to_dict()


def test_keep_drop_and_equal_variants() -> None:
    assert run(RelabelStep(source_labels=["job"], regex="node|db", action="keep")) is not None
    assert run(RelabelStep(source_labels=["job"], regex="no", action="keep")) is None
    assert run(RelabelStep(source_labels=["env"], regex="(?i)prod", action="drop")) is None
    assert run(RelabelStep(source_labels=["env"], regex="prod", action="drop")) is not None
    same = Labels({"a": "1", "b": "1", "c": "2"})
    assert run(RelabelStep(source_labels=["a"], target_label="b", action="keepequal"),
               labels=same) is not None
    assert run(RelabelStep(source_labels=["a"], target_label="c", action="keepequal"),
               labels=same) is None
    assert run(RelabelStep(source_labels=["a"], target_label="b", action="dropequal"),
               labels=same) is None


def test_hashmod_matches_prometheus_md5_modulus() -> None:
    # Values computed by Prometheus 2.42 (see test_relabel_prometheus for the live check).
    assert hashmod("", 1000) == int.from_bytes(bytes.fromhex("d41d8cd98f00b204e9800998ecf8427e")[8:],
                                                "big") % 1000
    out = run(RelabelStep(source_labels=["instance"], modulus=5, target_label="shard",
                          action="hashmod"))
    assert out["shard"] == str(hashmod("h1:9100", 5))


def test_labelmap_labeldrop_labelkeep_case() -> None:
    meta = Labels({"__meta_dc": "eu", "__meta_rack": "r1", "job": "x"})
    assert run(RelabelStep(regex="__meta_(.+)", replacement="m_$1", action="labelmap"),
               labels=meta) == {"__meta_dc": "eu", "__meta_rack": "r1", "job": "x",
                                "m_dc": "eu", "m_rack": "r1"}
    assert run(RelabelStep(regex="__meta_.*", action="labeldrop"), labels=meta) == {"job": "x"}
    assert run(RelabelStep(regex="job", action="labelkeep"), labels=meta) == {"job": "x"}
    assert run(RelabelStep(source_labels=["env"], target_label="e", action="lowercase"))["e"] == "prod"
    assert run(RelabelStep(source_labels=["env"], target_label="e", action="uppercase"))["e"] == "PROD"


def test_steps_see_previous_results_and_cache_is_consistent() -> None:
    rl = Relabeller([RelabelStep(source_labels=["job"], target_label="a"),
                     RelabelStep(source_labels=["a"], regex="node", action="drop")], cache_size=10)
    assert rl.process(BASE) is None
    assert rl.process(BASE) is None  # from the cache
    assert rl.process(BASE.without("job")) is not None


@pytest.mark.parametrize(("step", "message"), [
    (RelabelStep(action="hashmod", target_label="x"), "requires non-zero modulus"),
    (RelabelStep(action="replace"), "requires 'target_label' value"),
    (RelabelStep(target_label="1abc"), "is invalid 'target_label' for replace action"),
    (RelabelStep(action="lowercase", target_label="x", replacement="y"),
     "'replacement' can not be set for lowercase action"),
    (RelabelStep(action="labelmap", replacement="-$1"), "is invalid 'replacement' for labelmap"),
    (RelabelStep(action="keepequal", target_label="x", regex="a"), "requires only 'source_labels'"),
    (RelabelStep(action="labeldrop", source_labels=["a"]), "requires only 'regex'"),
    (RelabelStep(action="frobnicate"), "unknown relabel action"),
    (RelabelStep(source_labels=["a-b"], target_label="x"), '"a-b" is not a valid label name'),
    (RelabelStep(regex="(", target_label="x"), "invalid regular expression"),
])
def test_validation_messages(step: RelabelStep, message: str) -> None:
    assert message in (check_rule(step) or "")
    with pytest.raises(ValueError, match="."):
        Relabeller([step])


def test_config_errors_point_at_the_step() -> None:
    text = ("scrape_configs:\n"
            "  - job_name: a\n"
            "    metric_relabel_configs:\n"
            "      - source_labels: [x]\n"
            "        action: HashMod\n"
            "        target_label: y\n")
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "prom.yml")
    assert str(err.value) == ("prom.yml:4:9: scrape_configs[0].metric_relabel_configs[0]: "
                              "relabel configuration for hashmod requires non-zero modulus")

"""The stay definition's settings: ``[ingest.stays]`` and an operator's ``stays``."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_monitor.settings import ConfigError, load_settings
from gbfs_ingest.stays import StaySettings


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_defaults_city_values_and_operator_overrides(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, ""), env={}).ingest.stays == StaySettings()
    s = load_settings(
        _write(
            tmp_path,
            "[ingest.stays]\ndrift_m = 40\ngap_s = 1800\n\n"
            '[[operators]]\nslug = "flaky"\nname = "Flaky"\n'
            'discovery_url = "https://gbfs.flaky.example/gbfs.json"\n'
            "stays = { grace_polls = 2 }\n\n"
            '[[operators]]\nslug = "plain"\nname = "Plain"\n'
            'discovery_url = "https://gbfs.plain.example/gbfs.json"\n',
        ),
        env={},
    )
    city = StaySettings(drift_m=40, gap_s=1800)
    assert s.ingest.stays == city
    assert s.ingest.stays_for("flaky") == StaySettings(drift_m=40, gap_s=1800, grace_polls=2)
    assert s.ingest.stays_for("plain") == city and s.ingest.stays_for(None) == city


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[ingest.stays]\ndrift_m = 0\n", "ingest.stays.drift_m"),
        ("[ingest.stays]\ngrace_polls = -1\n", "ingest.stays.grace_polls"),
        ("[ingest.stays]\ngap_s = 90000\nmax_gap_s = 3600\n", "ingest.stays.gap_s"),
        ("[ingest.stays]\ndrift = 30\n", "ingest.stays.drift"),
        ('[ingest.stays]\ndrift_m = "far"\n', "ingest.stays.drift_m"),
        ("[ingest]\nstays = 3\n", "ingest.stays"),
    ],
)
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, text), env={})
    assert key in str(err.value)

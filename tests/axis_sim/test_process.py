"""`eoffice axis-sim` as a process: the demo configuration with its secrets kept in the data
directory, a benchmark-sized directory served to the client, a bad --config refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.axis_sim import DEMO_NEIGHBOUR_SYSTEM_ID, DEMO_SYSTEM_ID
from backend.demo import province
from backend.interchange.vxp import VxpClient
from tests.support.axis_sim import AxisSimProcess
from tests.support.process_server import ROOT

pytestmark = pytest.mark.anyio
SAMPLES = Path(__file__).parents[1] / "backend" / "interchange" / "samples"


async def test_the_demo_axis_carries_the_demo_province_and_a_benchmark_directory(
    tmp_path: Path,
) -> None:
    sim = AxisSimProcess(tmp_path, "--directory-size", "123000").start(timeout=120)
    try:
        secrets = tmp_path / "data" / "secrets"
        ours = (secrets / f"axis-sim-{DEMO_SYSTEM_ID}").read_text().strip()
        theirs = (secrets / f"axis-sim-{DEMO_NEIGHBOUR_SYSTEM_ID}").read_text().strip()
        assert ours and theirs and ours != theirs
        registered = await sim.ahook("/_sim/registered")
        assert {c for c, s in registered.items() if s == DEMO_SYSTEM_ID} == {
            code for code, *_ in province.AGENCIES
        }
        office = province.OFFICE_CODE
        async with (
            VxpClient(base_url=sim.api_url, system_id=DEMO_SYSTEM_ID, secret=ours) as a,
            VxpClient(base_url=sim.api_url, system_id=DEMO_NEIGHBOUR_SYSTEM_ID, secret=theirs) as b,
        ):
            agencies = await a.agencies()
            assert len(agencies) == 123_000 + len(province.AGENCIES) + 3
            by_code = {agency.code: agency for agency in agencies}
            assert by_code[office].name == "Văn phòng Ủy ban nhân dân tỉnh Sông Hồng (DEMO)"
            assert by_code[office].pid == by_code[province.PROVINCE_CODE].id

            packet = (SAMPLES / "edoc_update.edxml").read_bytes()
            await a.send_edoc(
                from_code=office, message_type="edoc", data=packet, to=["000.00.01.H98"]
            )
            [incoming] = await b.received(message_type="edoc")
            assert incoming.from_code == office
    finally:
        sim.stop()
    assert sim.proc is not None and sim.proc.returncode is not None


def test_a_bad_config_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "axis.json"
    bad.write_text('{"systems": {"00.53.W00": "s"}, "typo": 1}')
    result = subprocess.run(
        [sys.executable, "-m", "backend", "axis-sim", "--config", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")},
            "EOFFICE_DATA_DIR": str(tmp_path / "data"),
        },
        check=False,
    )
    assert result.returncode == 2
    assert "unknown settings ['typo']" in result.stderr

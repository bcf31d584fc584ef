"""A stand-in for the national document interconnection axis (VDXP), speaking the VXP API as
VPCP's SDK does (README §6, §9.7): for tests and the demo, which cannot reach the real one.

It checks the `XroadVnpt-*` HMAC headers, the `from` registration and `hash-file`, routes each
packet to one knobstick per recipient (edXML `To`, status `ResponseFor`, or the `to` header),
lists, serves and acknowledges them, keeps an agency directory (configured plus generated,
`generate_directory`), and misbehaves on request through the `/_sim/` hooks (`hooks`).
State lives in memory only: a restart forgets every knobstick and runtime registration.

It imports nothing of the app but `backend.interchange.xroad`, `safexml` and `errors`.
"""

from backend.axis_sim.app import create_app, run
from backend.axis_sim.config import (
    DEMO_NEIGHBOUR_SYSTEM_ID,
    DEMO_SYSTEM_ID,
    AxisSimConfig,
    DirectorySeed,
    demo_config,
    load_config,
)
from backend.axis_sim.directory import DirectoryEntry, generate_directory

__all__ = [
    "DEMO_NEIGHBOUR_SYSTEM_ID",
    "DEMO_SYSTEM_ID",
    "AxisSimConfig",
    "DirectoryEntry",
    "DirectorySeed",
    "create_app",
    "demo_config",
    "generate_directory",
    "load_config",
    "run",
]

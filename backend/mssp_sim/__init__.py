"""A small MSSP simulator (ETSI TS 102 204, Kiuru-style JSON) with virtual phones, for dev/tests.

Never deploy it where real users sign: it holds private keys in memory and knows the demo PIN.
"""

from backend.mssp_sim.app import create_app, run
from backend.mssp_sim.config import (
    Behaviour,
    SimConfig,
    SimIdentity,
    demo_config,
    generate_identity,
)

__all__ = [
    "Behaviour",
    "SimConfig",
    "SimIdentity",
    "create_app",
    "demo_config",
    "generate_identity",
    "run",
]

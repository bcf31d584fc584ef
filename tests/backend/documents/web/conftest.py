"""The documents pages run with the identity suite's app (controllable clock), browser-like
client and seeded agency with one person per role."""

from tests.backend.identity.conftest import app, client, clock, world  # noqa: F401

"""Do the processes sharing this Redis hold the same generated keys?

Every machine has a data dir of its own, and in it `secrets/`: the keys that sign API tokens and
the VAPID key push subscriptions are bound to. Machines that generated their own (nobody copied
`secrets/` from the first) would each refuse the others' tokens and send push that the push
services reject, at random, depending on the machine a request reaches. At start each process
compares a fingerprint of its public keys with the one the last process to start left in Redis,
says so loudly when they differ, and leaves its own.
"""

from __future__ import annotations

import hashlib
import logging
import socket

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.identity.tokens import KeyRing
from backend.push.vapid import VapidKeys

__all__ = ["KEY", "check", "fingerprint"]

KEY = "eoffice:secrets-fingerprint"
log = logging.getLogger("eoffice")


def fingerprint(api_keys: KeyRing, vapid: VapidKeys) -> str:
    """Of the public halves only: the fingerprint is stored in Redis."""
    digest = hashlib.sha256(vapid.public_key.encode())
    for kid in sorted(api_keys.keys):
        digest.update(f"\n{kid}\n{api_keys.keys[kid].public_pem}".encode())
    return digest.hexdigest()[:16]


async def check(redis: aioredis.Redis, *, api_keys: KeyRing, vapid: VapidKeys) -> bool:
    """False (and an error in the log) when the process that started before this one, on this
    Redis, had other keys. Redis trouble is a warning: the check is advice, not a gate."""
    mine = fingerprint(api_keys, vapid)
    try:
        previous = await redis.set(KEY, f"{mine} {socket.gethostname()}", get=True)
    except RedisError as error:
        log.warning("secrets: fingerprint not compared: %s", error)
        return True
    if not isinstance(previous, bytes):  # None: the first process on this Redis
        return True
    theirs, _, host = previous.decode().partition(" ")
    if theirs == mine:
        return True
    log.error(
        "secrets: this process's API-token and VAPID keys (%s) differ from those of the process "
        "started before it on %s (%s): copy <data dir>/secrets/ from one machine to every other "
        "and restart them, or API tokens and push will fail depending on the machine "
        "(docs/deploy.md)",
        mine,
        host or "?",
        theirs,
    )
    return False

"""The VXP API endpoints (README §6.1), each behind authentication and the fault hooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from backend.axis_sim.answers import (
    ERR_HASH_FILE,
    ERR_PARAMS,
    STATUS_DESC,
    AxisFail,
    fail,
    ok,
    ok_bytes,
)
from backend.axis_sim.auth import Caller, authenticate, header_map
from backend.axis_sim.store import AxisStore, Knobstick, format_time, parse_time
from backend.interchange import xroad

__all__ = ["routes", "store_of"]

Handler = Callable[[Request, AxisStore, Caller], Awaitable[Response]]
MESSAGE_TYPES = ("edoc", "status")


def store_of(request: Request) -> AxisStore:
    return cast(AxisStore, request.app.state.axis)


def _endpoint(path: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        store = store_of(request)
        headers = header_map(request.scope["headers"])
        body = await request.body()
        store.requests.append(
            {
                "method": request.method,
                "path": path,
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]
                ],
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )
        faults = store.faults
        if faults.down:
            return PlainTextResponse("VXP Server tam ngung hoat dong", status_code=503)
        for rule in faults.fail:
            if rule.path in (None, path):
                rule.count -= 1
                if rule.count <= 0:
                    faults.fail.remove(rule)
                return PlainTextResponse("Internal Server Error", status_code=rule.status)
        await store.pause(faults.slow_seconds)
        try:
            caller = authenticate(headers, store.config.systems)
            return await handler(request, store, caller)
        except AxisFail as error:
            return fail(error)

    return endpoint


def _message_type(caller: Caller) -> str:
    message_type = caller.get("messagetype")
    if message_type not in MESSAGE_TYPES:
        raise AxisFail(ERR_PARAMS, f"messagetype {message_type} khong hop le (edoc, status)")
    return message_type


async def send_edoc(request: Request, store: AxisStore, caller: Caller) -> Response:
    message_type = _message_type(caller)
    from_code = caller.get("from")
    if not from_code:
        raise AxisFail(ERR_PARAMS, "Thieu ma don vi gui (from)")
    to = _to_header(caller.get("to"))
    data = await _file(request, store, caller.get("hash-file"))
    doc_id, delay = store.send(
        caller.system_id, from_code=from_code, message_type=message_type, data=data, to=to
    )
    await store.pause(delay)
    return ok(DocId=doc_id)


def _to_header(value: str) -> list[str] | None:
    if not value:
        return None
    try:
        codes = json.loads(value)
    except ValueError:
        codes = None
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise AxisFail(ERR_PARAMS, "Header to phai la mang JSON cac ma don vi")
    return [c.strip() for c in codes if c.strip()]


async def _file(request: Request, store: AxisStore, given_hash: str) -> bytes:
    """The uploaded file: a raw body (the SDK appends CRLF) or a multipart part `file_doc`,
    whichever reading matches `hash-file`."""
    body = await request.body()
    if len(body) > store.config.max_packet_bytes + 2:
        raise AxisFail(ERR_PARAMS, "Tep vuot qua dung luong cho phep")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_part_size=store.config.max_packet_bytes) as form:
            part = form.get("file_doc")
            if isinstance(part, UploadFile):
                candidates = [await part.read()]
            elif isinstance(part, str):
                candidates = [part.encode()]
            else:
                raise AxisFail(ERR_PARAMS, "Thieu tep file_doc")
    else:
        candidates = [body[:-2], body] if body.endswith(b"\r\n") else [body]
    strict = store.config.strict_hash_file
    for data in candidates:
        if given_hash == xroad.hash_file(data) or (
            not strict
            and (not given_hash or given_hash.lower() == hashlib.sha256(data).hexdigest())
        ):
            return data
    raise AxisFail(ERR_HASH_FILE, "Ma bam tep (hash-file) khong khop voi noi dung tep")


async def received_list(request: Request, store: AxisStore, caller: Caller) -> Response:
    found = store.pending(
        caller.system_id,
        _message_type(caller),
        parse_time(caller.get("fromDate")),
        parse_time(caller.get("toDate")),
    )
    return ok(data=[_received_row(k) for k in found])


def _received_row(stick: Knobstick) -> dict[str, Any]:
    return {
        "docId": stick.doc_id,
        "serviceType": "eDoc",
        "messageType": stick.message_type,
        "created_time": format_time(stick.created),
        "updated_time": format_time(stick.updated),
        "from": stick.from_code,
        "to": stick.to_code,
        "status": stick.status,
        "status_desc": STATUS_DESC.get(stick.status, ""),
    }


def _doc_id(caller: Caller) -> str:
    doc_id = caller.get("docId", "docid")
    if not doc_id:
        raise AxisFail(ERR_PARAMS, "Thieu docId")
    return doc_id


async def get_edoc(request: Request, store: AxisStore, caller: Caller) -> Response:
    stick = store.addressed_to(caller.system_id, _doc_id(caller))
    return ok(data=base64.b64encode(stick.data).decode("ascii"))


async def download_edoc(request: Request, store: AxisStore, caller: Caller) -> Response:
    stick = store.addressed_to(caller.system_id, _doc_id(caller))
    return Response(
        stick.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{stick.doc_id}.edxml"'},
    )


async def update_status(request: Request, store: AxisStore, caller: Caller) -> Response:
    store.acknowledge(
        caller.system_id, _doc_id(caller), caller.get("status"), caller.get("description")
    )
    return ok()


async def sent_list(request: Request, store: AxisStore, caller: Caller) -> Response:
    found = store.sent(
        caller.system_id,
        _message_type(caller),
        parse_time(caller.get("fromDate")),
        parse_time(caller.get("toDate")),
    )
    return ok(data=[_sent_row(k) for k in found])


def _sent_row(stick: Knobstick) -> dict[str, Any]:
    return {
        "serviceType": "eDoc",
        "messageType": stick.message_type,
        "senderDocId": stick.sender_doc_id,
        "receiverDocId": stick.doc_id,
        "fromCode": stick.from_code,
        "toCode": stick.to_code,
        "title": stick.title,
        "notation": stick.notation,
        "sentTime": format_time(stick.created),
        "receivedTime": format_time(stick.received) if stick.received else None,
        "sendStatus": "done",
        "sendStatusDesc": "Da gui",
        "receiveStatus": stick.status,
        "receiveStatusDesc": STATUS_DESC.get(stick.status, ""),
    }


def _counter(message_type: str) -> Handler:
    async def count(request: Request, store: AxisStore, caller: Caller) -> Response:
        return ok(count=len(store.pending(caller.system_id, message_type, None, None)))

    return count


async def agencies(request: Request, store: AxisStore, caller: Caller) -> Response:
    body = store.agencies_json(lambda rows: ok_bytes(data=rows))
    return Response(body, media_type="application/json")


async def agencies_qd20(request: Request, store: AxisStore, caller: Caller) -> Response:
    return ok(data=store.agencies_qd20(caller.get("level")))


async def synchronize(request: Request, store: AxisStore, caller: Caller) -> Response:
    return ok(data=store.synchronize(caller.system_id))


async def register_agency(request: Request, store: AxisStore, caller: Caller) -> Response:
    try:
        agency = json.loads(await request.body())
    except ValueError:
        agency = None
    if not isinstance(agency, dict):
        raise AxisFail(ERR_PARAMS, "Du lieu don vi khong phai JSON hop le")
    store.register(caller.system_id, agency)
    return ok()


async def delete_agency(request: Request, store: AxisStore, caller: Caller) -> Response:
    code = caller.get("AgencyCode")
    if not code:
        raise AxisFail(ERR_PARAMS, "Thieu AgencyCode")
    store.unregister(caller.system_id, code)
    return ok()


ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("sendEdoc", "POST", send_edoc),
    ("getReceivedEdocList", "POST", received_list),
    ("getEdoc", "POST", get_edoc),
    ("downloadEdoc", "GET", download_edoc),
    ("updateStatus", "POST", update_status),
    ("getSentEdocList", "POST", sent_list),
    ("countReceiveEdoc", "GET", _counter("edoc")),
    ("countReceiveStatus", "GET", _counter("status")),
    ("getAgenciesList", "POST", agencies),
    ("getAgenciesListQD20", "POST", agencies_qd20),
    ("getSynchronizeUnit", "POST", synchronize),
    ("registerAgency", "POST", register_agency),
    ("deleteAgency", "POST", delete_agency),
]


def routes(base_path: str) -> list[Route]:
    return [
        Route(f"{base_path}/{path}", _endpoint(path, handler), methods=[method], name=path)
        for path, method, handler in ENDPOINTS
    ]

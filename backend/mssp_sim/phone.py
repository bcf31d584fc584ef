"""The virtual phone: a SIM-toolkit-like page per phone number where the user confirms or cancels.

Plain HTML, no external assets; the stylesheet and the refresh script are served from their own
routes so the page works under a strict CSP (no inline script or style).
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from backend.mssp_sim.state import sim_of
from backend.mssp_sim.store import SimUser, Transaction

__all__ = ["answer", "phone_css", "phone_js", "phone_page"]

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_RESULTS = {
    "signed": "Đã ký thành công.",
    "cancelled": "Bạn đã huỷ yêu cầu ký.",
    "blocked": "Mã PIN đã bị khoá do nhập sai quá số lần cho phép.",
    "not_pending": "Yêu cầu ký không còn hiệu lực (đã hết hạn hoặc đã được xử lý).",
}

_JS = """\
(function () {
  var main = document.querySelector("[data-refresh]");
  var seconds = main ? parseInt(main.getAttribute("data-refresh"), 10) : 0;
  if (!seconds) { return; }
  setInterval(function () {
    var busy = Array.prototype.some.call(document.querySelectorAll("input[name=pin]"),
      function (el) { return el.value !== "" || el === document.activeElement; });
    if (!busy) { window.location.reload(); }
  }, seconds * 1000);
})();
"""

_CSS = """\
body { margin: 0; background: #222; font-family: system-ui, sans-serif; }
.phone { max-width: 360px; min-height: 100vh; margin: 0 auto; background: #f4f6f8; padding: 12px;
  box-sizing: border-box; }
header { background: #0b4f8a; color: #fff; padding: 8px; border-radius: 6px; font-size: 14px; }
.request { background: #fff; border: 1px solid #ccd; border-radius: 6px; padding: 10px;
  margin-top: 12px; }
.request h1 { font-size: 16px; margin: 0 0 6px; }
.event strong { font-size: 22px; letter-spacing: 2px; }
.flash { background: #fff7d6; border: 1px solid #e0c35c; padding: 8px; border-radius: 6px;
  margin-top: 12px; }
.hint, .expires { font-size: 12px; color: #555; }
input[name=pin] { font-size: 20px; width: 8em; }
button { font-size: 16px; padding: 6px 14px; margin: 6px 6px 0 0; }
"""


def _request_html(msisdn: str, tx: Transaction, base: str) -> str:
    left = max(0, int(tx.deadline - time.time()))
    return f"""
<section class="request" data-transaction="{escape(tx.mssp_trans_id)}">
  <h1>Yêu cầu ký số</h1>
  <p class="dtbd">{escape(tx.display_text)}</p>
  <p class="event">Mã kiểm tra: <strong>{escape(tx.event_id)}</strong></p>
  <p class="hint">Chỉ nhập PIN khi mã kiểm tra trùng với mã trên màn hình máy tính.</p>
  <p class="expires">Hết hạn sau {left} giây.</p>
  <form method="post" action="{escape(base)}/phone/{escape(msisdn)}/answer">
    <input type="hidden" name="transaction" value="{escape(tx.mssp_trans_id)}">
    <label>Mã PIN <input name="pin" type="password" inputmode="numeric" autocomplete="off"
      maxlength="8"></label><br>
    <button type="submit" name="action" value="confirm">Xác nhận</button>
    <button type="submit" name="action" value="cancel">Huỷ</button>
  </form>
</section>"""


def _flash(result: str | None, user: SimUser, max_attempts: int) -> str:
    if result == "wrong_pin":
        left = max(0, max_attempts - user.wrong_pins)
        text = f"Sai mã PIN. Bạn còn {left} lần thử."
    elif result in _RESULTS:
        text = _RESULTS[result]
    else:
        return ""
    return f'<p class="flash" role="status">{escape(text)}</p>'


async def phone_page(request: Request) -> Response:
    """GET /phone/{msisdn} — the pending requests of one phone."""
    sim = sim_of(request)
    msisdn = request.path_params["msisdn"]
    user = sim.store.users.get(msisdn)
    if user is None:
        return HTMLResponse(
            "<!doctype html><html lang=vi><meta charset=utf-8><title>Không tìm thấy</title>"
            "<p>Không có SIM ký số nào với số điện thoại này.</p></html>",
            status_code=404,
            headers=_HEADERS,
        )
    pending = sim.store.pending_for(msisdn)
    # Mounted under another app (the demo server's /mssp-sim), links keep the mount prefix.
    base = request.scope.get("root_path", "")
    body = "".join(_request_html(msisdn, tx, base) for tx in pending) or (
        '<p class="idle">Không có yêu cầu ký nào đang chờ.</p>'
    )
    name = escape(user.identity.display_name)
    html = f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Điện thoại ảo {escape(msisdn)}</title>
<link rel="stylesheet" href="{escape(base)}/phone.css">
<script src="{escape(base)}/phone.js" defer></script>
</head>
<body>
<main class="phone" data-refresh="{sim.config.phone_refresh_seconds}">
<header>SIM ký số · {escape(msisdn)}<br>{name}</header>
{_flash(request.query_params.get("r"), user, sim.config.max_pin_attempts)}
{body}
</main>
</body>
</html>
"""
    return HTMLResponse(html, headers=_HEADERS)


async def answer(request: Request) -> Response:
    """POST /phone/{msisdn}/answer — the user confirmed (with PIN) or cancelled."""
    sim = sim_of(request)
    msisdn = request.path_params["msisdn"]
    form = await request.form()
    tx_id = str(form.get("transaction", ""))
    tx = sim.store.get(tx_id)
    if tx is None or tx.msisdn != msisdn:
        result = "not_pending"
    elif form.get("action") == "cancel":
        result = "cancelled" if sim.store.cancel(tx_id) else "not_pending"
    else:
        result = sim.store.confirm(tx_id, str(form.get("pin", "")))
    base = request.scope.get("root_path", "")
    return RedirectResponse(f"{base}/phone/{quote(msisdn)}?r={quote(result)}", status_code=303)


async def phone_js(request: Request) -> Response:
    """GET /phone.js — reloads the page unless the user is typing a PIN."""
    return Response(_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


async def phone_css(request: Request) -> Response:
    """GET /phone.css."""
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})

// Document lists that update themselves. When a live event arrives on #live (the page's one
// SSE connection to /live), the first page of the same list — same inbox, same filters — is
// fetched again and merged into what is on screen: new rows are slotted in (and briefly
// highlighted), changed rows replaced, rows that left the list removed. Rows loaded with
// "Show more" stay, the filter form is never touched, and the reader's place on the page is kept.
(function () {
  "use strict";

  var WAIT_MS = 300; // a burst of events (one per step, per document) makes one request

  // Newest first: rows are ordered by (data-order, data-id), both descending.
  function newer(a, b) {
    var oa = Number(a.dataset.order), ob = Number(b.dataset.order);
    return oa !== ob ? oa > ob : Number(a.dataset.id) > Number(b.dataset.id);
  }

  function rows(list) {
    return Array.prototype.filter.call(list.children, function (li) {
      return li.matches("li[data-id]");
    });
  }

  function firstVisible(list) {
    var found = rows(list).filter(function (li) {
      return li.getBoundingClientRect().bottom > 0;
    });
    return found[0] || null;
  }

  // A row loaded twice (a refresh slotted it in, then "Show more" brought it again): keep one.
  function dedupe(list) {
    var seen = {};
    rows(list).forEach(function (li) {
      if (seen[li.dataset.id]) li.remove();
      seen[li.dataset.id] = true;
    });
  }

  function merge(list, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = rows(template.content);
    var complete = !template.content.querySelector("li.more");
    var last = fresh[fresh.length - 1] || null;
    var wanted = {};
    fresh.forEach(function (li) { wanted[li.dataset.id] = li; });

    var anchor = window.scrollY > 0 ? firstVisible(list) : null;
    var anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    var added = 0, changed = 0, removed = 0;

    var current = {};
    rows(list).forEach(function (li) {
      // Inside the refreshed window (or the whole list, when it fits on one page) and not
      // in it any more: the row left this list (completed, handed on, filtered out).
      var inWindow = complete || (last !== null && !newer(last, li));
      if (!wanted[li.dataset.id] && inWindow) {
        if (li === anchor) anchor = null;
        li.remove();
        removed++;
      } else {
        current[li.dataset.id] = li;
      }
    });

    var previous = null;
    fresh.forEach(function (li) {
      var node = current[li.dataset.id];
      if (node && node.outerHTML !== li.outerHTML) {
        li.classList.add("docitem--changed");
        node.replaceWith(li);
        if (node === anchor) anchor = li;
        node = li;
        changed++;
      } else if (!node) {
        li.classList.add("docitem--new");
        node = li;
        added++;
      }
      var slot = previous ? previous.nextElementSibling : list.firstElementChild;
      while (slot && slot.matches("li.empty")) slot = slot.nextElementSibling;
      if (slot !== node) list.insertBefore(node, slot);
      previous = node;
    });

    var empty = list.querySelector(":scope > li.empty");
    if (rows(list).length && empty) empty.remove();
    if (!rows(list).length && !empty) {
      var placeholder = template.content.querySelector("li.empty");
      if (placeholder) list.insertBefore(placeholder, list.querySelector(":scope > li.more"));
    }
    if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - anchorTop);
    if (added || changed || removed) {
      var note = document.getElementById("doclist-note");
      if (note) {
        note.hidden = false;
        note.textContent = note.textContent; // re-announced by screen readers
      }
      list.dispatchEvent(new CustomEvent("doclist:updated", {
        bubbles: true, detail: { added: added, changed: changed, removed: removed }
      }));
    }
  }

  function setup() {
    var list = document.getElementById("doclist");
    var source = document.getElementById("live");
    if (!list || !source || !list.dataset.liveUrl) return;
    var timer = null, busy = false, again = false;

    function refresh() {
      busy = true;
      fetch(list.dataset.liveUrl, {
        credentials: "same-origin", cache: "no-store", headers: { "HX-Request": "true" }
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      }).then(function (html) {
        merge(list, html);
      }).catch(function (error) {
        console.warn("document list not refreshed", error); // the next event tries again
      }).then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
    }

    function schedule() {
      if (busy) { again = true; return; }
      clearTimeout(timer);
      timer = setTimeout(refresh, WAIT_MS);
    }

    (list.dataset.liveEvents || "").split(/\s+/).filter(Boolean).forEach(function (name) {
      source.addEventListener(name, schedule);
    });
    new MutationObserver(function () { dedupe(list); }).observe(list, { childList: true });
  }

  document.addEventListener("DOMContentLoaded", setup);
})();

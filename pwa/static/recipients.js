// The recipient picker (templates/recipients/_picker.html). htmx fetches the result rows as the
// clerk types (debounced); this script makes them a listbox driven by the keyboard (↑/↓, Enter,
// Esc) or a tap, and turns what is picked into removable chips that carry hidden form fields:
// `recipient` (an agency's code) and `unit` (a unit of our agency). A group button adds one chip
// holding all of the group's members. Enter in the search box never submits the form.
(function () {
  "use strict";

  var MIN_QUERY = 2;

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function setup(picker) {
    var input = picker.querySelector("input[role=combobox]");
    var list = picker.querySelector("[role=listbox]");
    var chips = picker.querySelector("[data-chips]");
    var status = picker.querySelector("[data-status]");
    var data = picker.dataset;
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    }

    function chosen(key) {
      return chips.querySelector('[data-key="' + CSS.escape(key) + '"]');
    }

    function memberOfChosenGroup(field, value) {
      return !!chips.querySelector('[data-chip=group] input[name="' + field + '"][value="' +
        CSS.escape(value) + '"]');
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var all = options();
      all.forEach(function (option, i) { option.setAttribute("aria-selected", String(i === index)); });
      active = index;
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    // New rows arrived (htmx swapped them in): number them, drop what is chosen already, show.
    function refresh() {
      if (input.value.trim().length < MIN_QUERY) {
        list.textContent = "";
        close();
        return;
      }
      options().forEach(function (option, i) {
        var field = option.dataset.field, value = option.dataset.value;
        if (chosen(field + ":" + value) || memberOfChosenGroup(field, value)) {
          option.remove();
        } else {
          option.id = picker.id + "-option-" + i;
        }
      });
      active = -1;
      var shown = list.children.length > 0;
      list.hidden = !shown;
      input.setAttribute("aria-expanded", String(shown));
    }

    function announce() {
      var count = chips.querySelectorAll("input[type=hidden]").length;
      status.textContent = count ? format(data.msgCount, { n: count }) : data.msgNone;
      picker.querySelectorAll(".picker__unit").forEach(function (button) {
        var on = !!chosen(button.dataset.field + ":" + button.dataset.value);
        button.setAttribute("aria-pressed", String(on));
      });
      picker.querySelectorAll(".picker__group").forEach(function (button) {
        button.setAttribute("aria-pressed", String(!!chosen("group:" + button.dataset.group)));
      });
    }

    function chip(key, kind, name, fields) {
      var item = document.createElement("li");
      item.className = "chip chip--" + kind;
      item.dataset.key = key;
      item.dataset.chip = kind;
      var label = document.createElement("span");
      label.className = "chip__label";
      label.textContent = name;
      item.appendChild(label);
      fields.forEach(function (field) { item.appendChild(field); });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip__remove";
      remove.setAttribute("aria-label", format(data.msgRemove, { name: name }));
      remove.textContent = "×";
      item.appendChild(remove);
      chips.appendChild(item);
      announce();
    }

    function hidden(field, value) {
      var element = document.createElement("input");
      element.type = "hidden";
      element.name = field;
      element.value = value;
      return element;
    }

    function pick(option) {
      var field = option.dataset.field, value = option.dataset.value;
      if (!chosen(field + ":" + value)) {
        chip(field + ":" + value, "one", option.dataset.name, [hidden(field, value)]);
      }
      input.value = "";
      list.textContent = "";
      close();
      input.focus();
    }

    input.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!all.length) return;
        event.preventDefault();
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + all.length) % all.length);
      } else if (event.key === "Enter") {
        event.preventDefault(); // choosing, not issuing
        if (!list.hidden && all[active]) pick(all[active]);
        else if (!list.hidden && all.length === 1) pick(all[0]);
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Backspace" && input.value === "") {
        var last = chips.lastElementChild;
        if (last) {
          last.remove();
          announce();
        }
      }
    });

    // mousedown keeps the focus in the box; click (also a tap) picks.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) pick(option);
    });

    chips.addEventListener("click", function (event) {
      var remove = event.target.closest(".chip__remove");
      if (!remove) return;
      var item = remove.closest(".chip");
      var next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      announce();
      // Keep the keyboard where it was: on the next chip's button, else the search box.
      (next ? next.querySelector(".chip__remove") : input).focus();
    });

    picker.addEventListener("click", function (event) {
      var group = event.target.closest(".picker__group");
      var unit = event.target.closest(".picker__unit");
      if (group) {
        var key = "group:" + group.dataset.group;
        var existing = chosen(key);
        if (existing) {
          existing.remove();
          announce();
          return;
        }
        var template = document.getElementById(group.dataset.group);
        var fields = Array.prototype.slice.call(template.content.querySelectorAll("input"))
          .map(function (source) { return hidden(source.name, source.value); });
        chip(key, "group", group.dataset.name, fields);
      } else if (unit) {
        var unitKey = unit.dataset.field + ":" + unit.dataset.value;
        var picked = chosen(unitKey);
        if (picked) {
          picked.remove();
          announce();
        } else {
          chip(unitKey, "one", unit.dataset.name, [hidden(unit.dataset.field, unit.dataset.value)]);
        }
      }
    });

    input.addEventListener("blur", function (event) {
      if (!list.contains(event.relatedTarget)) close();
    });
    input.addEventListener("focus", function () {
      if (list.children.length && input.value.trim().length >= MIN_QUERY) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    });

    new MutationObserver(refresh).observe(list, { childList: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-picker]").forEach(setup);
  });
})();

/* Returns Hub board: drag-and-drop and keyboard moves through htmx, the detail panel, the live feed. */
(function () {
  "use strict";

  const POLL_MS = 2500;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const board = () => document.getElementById("board");

  function boardQuery() {
    const b = board();
    return b ? b.dataset.query || "" : "";
  }

  function fromHtml(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content.firstElementChild;
  }

  function toast(message, level) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
  }

  /* Toasts leave by themselves; errors stay a little longer. */
  function ageToasts(root) {
    $$(".toast:not([data-timed])", root).forEach((t) => {
      t.dataset.timed = "1";
      const ms = t.classList.contains("toast-error") ? 9000 : 4500;
      setTimeout(() => t.classList.add("leaving"), ms);
      setTimeout(() => t.remove(), ms + 400);
      t.addEventListener("click", () => t.remove());
    });
  }

  /* A card's place in its column's order, as the server sorts it (hub/returns/queries.py, _column_order):
     `sort` is the column's data-sort. Closed columns: newest first (a card enters a closed stage as it closes). */
  function sortKey(card, sort) {
    const entered = parseFloat(card.dataset.entered);
    const seq = parseInt(card.dataset.seq, 10);
    if (sort === "age") return [entered, seq];
    if (sort === "newest" || sort === "closed") return [-entered, -seq];
    if (sort === "due") return [card.dataset.due ? parseFloat(card.dataset.due) : Infinity, seq];
    return [-parseInt(card.dataset.priority, 10), entered, seq]; // priority: urgent and high first
  }

  /* Whether card a comes before card b: new arrivals first (data-arrived stays when the "New" mark goes), then by sort. */
  function comesBefore(a, b, sort) {
    const an = Boolean(a.dataset.arrived), bn = Boolean(b.dataset.arrived);
    if (an !== bn) return an;
    const ka = sortKey(a, sort), kb = sortKey(b, sort);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i];
    return false;
  }

  /* Put a card where it belongs in a column, in the column's order. A card that belongs beyond the cards
     loaded so far is left out (returns false), unless it is new to the user (new arrivals are on top) or
     `keep`: a card the user just moved stays in sight, above "show more". */
  function placeCard(card, list, keep) {
    const sort = list.dataset.sort;
    const more = $("li.more", list);
    for (const other of $$("li.card", list)) {
      if (other === card) continue;
      if (comesBefore(card, other, sort)) {
        list.insertBefore(card, other);
        return true;
      }
    }
    if (more && !keep && !card.dataset.arrived) {
      card.remove();
      return false;
    }
    list.insertBefore(card, more);
    return true;
  }

  /* The "New" mark stays until the user has seen the card: focused it, opened it, or rested the pointer on it. */
  const seenNew = new Set();
  function markSeen(card) {
    if (!card || !card.classList.contains("is-new")) return;
    seenNew.add(card.id);
    card.classList.remove("is-new");
    const badge = $(".new-badge", card);
    if (badge) badge.remove();
  }
  document.addEventListener("focusin", (e) => markSeen(e.target.closest && e.target.closest("li.card.is-new")));
  document.addEventListener("click", (e) => markSeen(e.target.closest && e.target.closest("li.card.is-new")));
  let dwell = null;
  document.addEventListener("pointerover", (e) => {
    const card = e.target.closest && e.target.closest("li.card.is-new");
    clearTimeout(dwell);
    if (card) dwell = setTimeout(() => { if (card.matches(":hover")) markSeen(card); }, 1000);
  });

  /* After "show more", a card shown early (because it was just moved) may arrive again in its place. */
  function dedupe(list) {
    const seen = new Map();
    $$("li.card", list).forEach((card) => {
      if (seen.has(card.id)) seen.get(card.id).remove();
      seen.set(card.id, card);
    });
  }

  function restore(card, origin) {
    if (!origin || !document.contains(origin.from)) {
      card.remove();
      return;
    }
    const siblings = Array.from(origin.from.children).filter((c) => c !== card);
    origin.from.insertBefore(card, siblings[origin.oldIndex] || null);
  }

  /* Post a move through htmx; the answer replaces the card and refreshes the column headers out of band.
     A refusal (wrong transition, no permission, a newer version) sends the card back with the reason. */
  function move(card, toStage, origin) {
    const column = document.getElementById("col-" + toStage);
    const allowed = (card.dataset.targets || "").split(" ").includes(toStage);
    // a stage that needs a resolution or a reason is reached through the details; a move that is not
    // allowed at all goes to the server, which refuses it with the reason
    // (the Move form opens on the stage it was dropped on, with the field that stage needs in focus)
    if (column && column.dataset.requires && allowed) {
      restore(card, origin);
      const need = column.dataset.requires === "resolution" ? "how it was resolved" : "a reason for the customer";
      toast("Moving to “" + column.dataset.stageName + "” needs " + need + ": use Move in the details.", "info");
      openDetail(card.dataset.detailUrl, { moveTo: toStage });
      return;
    }
    card.classList.add("moving");
    card.setAttribute("aria-busy", "true");
    card.addEventListener("htmx:afterRequest", (evt) => {
      const fresh = document.getElementById(card.id);
      const failed = !evt.detail.successful;
      if (!fresh) return;
      if (failed) {
        restore(fresh, origin);
        fresh.classList.add("refused");
        setTimeout(() => fresh.classList.remove("refused"), 1200);
      } else {
        const list = document.getElementById("cards-" + fresh.dataset.stage);
        if (list) placeCard(fresh, list, true); else fresh.remove();
        fresh.classList.add("flash");
      }
      // keep a keyboard user on the card: its Move menu, or its link once it has left the user's team
      const focusable = fresh.isConnected && ($(".move-menu summary", fresh) || $("a.rma", fresh));
      if (origin && origin.keyboard && focusable) focusable.focus();
    }, { once: true });
    const url = card.dataset.moveUrl + (boardQuery() ? "?" + boardQuery() : "");
    htmx.ajax("POST", url, {
      source: card, target: card, swap: "outerHTML",
      values: { to_stage: toStage, version: card.dataset.version, view: "card" },
    });
  }

  function initSortable(root) {
    if (typeof Sortable === "undefined") return;
    $$("ol.cards", root).forEach((list) => {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "board",
        animation: 120,
        draggable: "li.card:not(.locked)", // a locked card has no stage this user may move it to
        filter: "li.more, summary, button, a, details",
        preventOnFilter: false,
        ghostClass: "card-ghost",
        chosenClass: "card-chosen",
        dragClass: "card-drag",
        onStart(evt) {
          const ok = (evt.item.dataset.targets || "").split(" ");
          $$(".column").forEach((col) => {
            if (col.dataset.stage === evt.item.dataset.stage) return;
            col.classList.add(ok.includes(col.dataset.stage) ? "drop-ok" : "drop-no");
          });
          document.body.classList.add("dragging");
        },
        onEnd(evt) {
          $$(".column").forEach((col) => col.classList.remove("drop-ok", "drop-no"));
          document.body.classList.remove("dragging");
          const origin = { from: evt.from, oldIndex: evt.oldIndex };
          if (evt.from === evt.to) {
            restore(evt.item, origin); // order within a column is by age, not by hand
            return;
          }
          move(evt.item, evt.to.dataset.stage, origin);
        },
      });
    });
  }

  /* The Move menu is a menu button (WAI-ARIA): Enter, Space and ArrowDown open it on its first item, ArrowUp on
     its last; ArrowUp/ArrowDown (round), Home and End move through it, a letter to the next stage starting with
     it; Escape closes it and returns to the button (below, with the panel's Escape); Tab closes it and moves on. */
  function menuItems(details) { return $$("[role=menuitem]", details); }

  document.addEventListener("keydown", (e) => {
    if (!e.target.closest || e.altKey || e.ctrlKey || e.metaKey) return;
    const summary = e.target.closest(".move-menu > summary");
    if (summary) {
      const details = summary.parentElement;
      if (!["Enter", " ", "ArrowDown", "ArrowUp"].includes(e.key)) return;
      e.preventDefault(); // no native toggle: the menu opens on an item
      if (details.open && (e.key === "Enter" || e.key === " ")) { details.open = false; return; }
      details.open = true;
      const items = menuItems(details);
      const item = e.key === "ArrowUp" ? items[items.length - 1] : items[0];
      if (item) item.focus();
      return;
    }
    const item = e.target.closest(".move-menu [role=menuitem]");
    if (!item) return;
    const details = item.closest("details");
    const items = menuItems(details);
    const i = items.indexOf(item);
    let next = null;
    if (e.key === "ArrowDown") next = items[(i + 1) % items.length];
    else if (e.key === "ArrowUp") next = items[(i - 1 + items.length) % items.length];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items[items.length - 1];
    else if (e.key === "Tab") {
      details.open = false;
      $("summary", details).focus(); // the Tab goes on from the button, to what follows the menu
      return;
    } else if (e.key.length === 1 && e.key.trim()) {
      const letter = e.key.toLowerCase();
      const after = items.slice(i + 1).concat(items.slice(0, i + 1));
      next = after.find((b) => b.textContent.trim().toLowerCase().startsWith(letter)) || null;
    }
    if (next) { e.preventDefault(); next.focus(); }
  });

  /* Space on the button: keyup would toggle the menu shut again after keydown opened it. */
  document.addEventListener("keyup", (e) => {
    if (e.key === " " && e.target.closest && e.target.closest(".move-menu > summary")) e.preventDefault();
  });

  /* The keyboard path: the card's Move menu does what a drag does. */
  document.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-move-to]");
    if (!btn) return;
    const card = btn.closest(".card");
    const details = btn.closest("details");
    if (details) details.open = false;
    const from = card.parentElement;
    const origin = { from, oldIndex: Array.from(from.children).indexOf(card), keyboard: true };
    const target = document.getElementById("cards-" + btn.dataset.moveTo);
    if (target) target.insertBefore(card, $("li.more", target));
    move(card, btn.dataset.moveTo, origin);
  });

  /* The detail panel over the board. */
  function panel() { return document.getElementById("panel"); }

  /* Open a return's details in the panel; `moveTo` opens its Move form on that stage. */
  let focusAfterOpen = null;
  function openDetail(url, opts) {
    const moveTo = opts && opts.moveTo;
    const get = moveTo ? url + "?move_to=" + encodeURIComponent(moveTo) : url;
    if (!panel()) { window.location = get; return; }
    focusAfterOpen = moveTo ? "[data-move-focus]" : null;
    htmx.ajax("GET", get, { target: "#panel", swap: "innerHTML" }).then(() => {
      focusAfterOpen = null; // used by the swap, or not at all (the request failed)
      history.pushState({ panel: url }, "", url);
    });
  }

  /* The Move form: the field the chosen stage needs (a resolution, a reason) is required, and is the one
     to fill in first; CSS shows only the fields the chosen stage uses. */
  function syncMoveForm(form) {
    const option = $("select[name=to_stage]", form).selectedOptions[0];
    const needs = (option && option.dataset.requires) || "";
    $$("[data-required-for]", form).forEach((field) => {
      field.required = field.dataset.requiredFor === needs;
      field.toggleAttribute("data-move-focus", field.required);
    });
    syncRejectionReason(form, needs === "reason");
  }

  /* A rejection: the preview shows the chosen reason as the customer reads it, and a reason that says too
     little on its own ("other") makes the note required. */
  function syncRejectionReason(form, rejecting) {
    const select = $("select[name=rejection_reason]", form);
    if (!select) return;
    const option = select.selectedOptions[0];
    const text = (option && option.dataset.text) || "";
    const quote = $("[data-reason-text]", form);
    if (quote) quote.textContent = text;
    const chosen = $("[data-reason-chosen]", form);
    if (chosen) chosen.hidden = !text;
    const none = $("[data-reason-none]", form);
    if (none) none.hidden = Boolean(text);
    const note = $("textarea[name=note]", form);
    if (note && rejecting) note.required = Boolean(option && option.hasAttribute("data-note-required"));
  }

  function syncMoveForms(root) {
    $$("form.move-form", root).forEach(syncMoveForm);
  }

  document.addEventListener("change", (e) => {
    if (e.target.matches && e.target.matches("form.move-form select[name=to_stage], form.move-form select[name=rejection_reason]")) {
      syncMoveForm(e.target.form);
    }
  });

  function showPanel() {
    const p = panel();
    if (!p) return;
    p.hidden = false;
    const backdrop = document.getElementById("panel-backdrop");
    if (backdrop) backdrop.hidden = false;
    document.body.classList.add("panel-open");
  }

  function closePanel(push) {
    const p = panel();
    if (!p || p.hidden) return false;
    p.hidden = true;
    p.innerHTML = "";
    const backdrop = document.getElementById("panel-backdrop");
    if (backdrop) backdrop.hidden = true;
    document.body.classList.remove("panel-open");
    if (push) history.pushState({}, "", "/board" + (boardQuery() ? "?" + boardQuery() : ""));
    return true;
  }

  /* The search box asks as you type (its "input" trigger); the "change" it fires when it loses focus would
     ask again and swap the board under the click that took the focus away (a link in the search summary). */
  document.addEventListener("change", (e) => { if (e.target.id === "q") e.stopPropagation(); }, true);

  document.addEventListener("click", (e) => {
    const closer = e.target.closest("[data-close-panel]");
    if (closer && panel() && panel().contains(closer)) {
      e.preventDefault();
      closePanel(true);
    } else if (e.target.id === "panel-backdrop") {
      closePanel(true);
    }
  });

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    const menu = e.target.closest && e.target.closest("details[open]");
    if (menu) { menu.open = false; $("summary", menu).focus(); return; }
    closePanel(true);
  });

  window.addEventListener("popstate", () => {
    if (panel() && !location.pathname.startsWith("/returns/")) closePanel(false);
  });

  document.addEventListener("htmx:afterSwap", (e) => {
    const target = e.detail.target;
    syncMoveForms(document);
    if (target && target.id === "panel") {
      showPanel();
      const h = $("h1", target);
      const field = focusAfterOpen && $(focusAfterOpen, target);
      focusAfterOpen = null;
      if (field) field.focus();
      else if (h) { h.tabIndex = -1; h.focus(); }
    }
    $$("ol.cards").forEach(dedupe);
    initSortable(document);
    ageToasts(document);
  });

  document.addEventListener("htmx:oobAfterSwap", () => ageToasts(document));

  /* The live feed: one small request per interval, keyed by the last event id seen. */
  let polling = false;
  async function poll() {
    const b = board();
    if (!b || polling || document.hidden || document.body.classList.contains("dragging")) return;
    polling = true;
    const status = document.getElementById("live-status");
    try {
      const q = boardQuery();
      const since = b.dataset.newSince ? "&new_since=" + encodeURIComponent(b.dataset.newSince) : "";
      const resp = await fetch(b.dataset.changesUrl + "?after=" + encodeURIComponent(b.dataset.cursor) + since + (q ? "&" + q : ""), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (resp.status === 401) { window.location.reload(); return; }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const data = await resp.json();
      if (board() !== b) return; // the board was swapped meanwhile (filters changed)
      b.dataset.cursor = data.cursor;
      for (const c of data.cards) applyCard(c);
      for (const [stage, html] of Object.entries(data.headers)) {
        const head = document.getElementById("head-" + stage);
        if (head) head.replaceWith(fromHtml(html));
      }
      if (status) { status.classList.remove("offline"); status.textContent = "● Live"; }
    } catch (err) {
      if (status) { status.classList.add("offline"); status.textContent = "● Reconnecting…"; }
    } finally {
      polling = false;
    }
  }

  function applyCard(c) {
    const old = document.getElementById(c.id);
    if (old && (old.classList.contains("moving") || old.classList.contains("card-chosen"))) return;
    const list = c.visible ? document.getElementById("cards-" + c.stage) : null;
    if (!list) { if (old) old.remove(); return; }
    const el = fromHtml(c.html);
    if (seenNew.has(el.id)) markSeen(el);
    const openMenu = old && $("details[open]", old);
    const samePlace = old && ["entered", "priority", "due", "arrived"].every((k) => old.dataset[k] === el.dataset[k]);
    if (old && old.parentElement === list && samePlace) {
      old.replaceWith(el); // same stage entry, priority and due time: it keeps its place
    } else {
      if (old) old.remove();
      if (!placeCard(el, list, false)) return;
    }
    htmx.process(el);
    el.classList.add("flash");
    const menu = openMenu && $("details", el);
    if (menu) menu.open = true;
  }

  function start() {
    syncMoveForms(document);
    initSortable(document);
    ageToasts(document);
    if (panel() && location.pathname.startsWith("/returns/")) openDetail(location.pathname);
    if (board()) setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

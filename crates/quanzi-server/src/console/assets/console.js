// quanzi console: progressive enhancement only. Forms marked data-api are sent to the
// JSON API with the session's CSRF token; the API's error lands next to the field it
// names; an answer naming a background job shows the job's progress. Tables marked
// sortable sort by a header click and export as CSV.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function valueOf(el) {
    if (el.type === "checkbox") return el.checked;
    const source = el.dataset.from ? document.querySelector(el.dataset.from) : el;
    const raw = source.value.trim();
    if (raw === "") return undefined;
    switch (el.dataset.type || el.type) {
      case "number": return Number(raw);
      // Operators type yuan; the API takes fen.
      case "yuan": return Math.round(Number(raw) * 100);
      case "list": return raw.split(",").map((s) => s.trim()).filter(Boolean);
      case "json": return JSON.parse(raw);
      case "datetime-local": return new Date(raw).toISOString();
      default: return raw;
    }
  }

  // `stacking.group` writes an object; `skus[0].sku` writes into a list, so rows of the
  // same fields become the JSON array the API takes (and the API's `skus[0].sku` error
  // finds its field by that name).
  function put(target, path, value) {
    const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
    let at = target;
    keys.slice(0, -1).forEach((k, i) => {
      at = at[k] = at[k] || (/^\d+$/.test(keys[i + 1]) ? [] : {});
    });
    at[keys[keys.length - 1]] = value;
  }

  // Rows left empty leave holes in a list; the API wants only the rows filled in.
  function compact(value) {
    if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compact);
    if (value && typeof value === "object") Object.keys(value).forEach((k) => { value[k] = compact(value[k]); });
    return value;
  }

  function showError(form, error) {
    const field = error.field || "";
    let el = null;
    for (let name = field; name && !el; name = name.replace(/(\.|\[)[^.\[]*\]?$/, "")) {
      el = form.querySelector('[name="' + name.replace(/"/g, "") + '"]');
      if (!/[.\[]/.test(name)) break;
    }
    const note = document.createElement("div");
    note.textContent = error.message || error.code || "error";
    if (el) {
      el.classList.add("invalid");
      note.className = "field-error";
      el.insertAdjacentElement("afterend", note);
    } else {
      note.className = "form-error";
      form.appendChild(note);
    }
  }

  const zh = document.documentElement.lang !== "en";
  const JOB_STATES = {
    queued: zh ? "排队中" : "queued",
    running: zh ? "运行中" : "running",
    done: zh ? "完成" : "done",
    dead: zh ? "失败" : "failed",
  };

  // Polls a job every half second, showing its state on the button; reloads when it is
  // done and says why when it failed.
  async function follow(id, button) {
    const show = (state) => { if (button) button.textContent = button.dataset.label + " · " + (JOB_STATES[state] || state) + " …"; };
    for (;;) {
      const response = await fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin" });
      const job = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((job.error && job.error.message) || response.status);
      show(job.state);
      if (job.state === "done") { window.location.reload(); return; }
      if (job.state === "dead") throw new Error(JOB_STATES.dead + ": " + (job.last_error || ""));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    // Actions that cannot be undone ask first.
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    form.querySelectorAll(".field-error, .form-error").forEach((n) => n.remove());
    form.querySelectorAll(".invalid").forEach((n) => n.classList.remove("invalid"));
    let body = {};
    try {
      if (form.dataset.body === "raw") {
        // The one field is the whole request body (a settings document).
        body = JSON.parse(form.querySelector("[name]").value);
      } else {
        form.querySelectorAll("[name]").forEach((el) => {
          const v = valueOf(el);
          if (v !== undefined) put(body, el.name, v);
        });
        body = compact(body);
      }
    } catch (e) {
      showError(form, { message: String(e) });
      return;
    }
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent += " …"; }
    try {
      const response = await fetch(form.dataset.api, {
        method: form.dataset.method || "POST",
        headers: { "content-type": "application/json", "x-csrf-token": csrf() },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const json = await response.json().catch(() => ({}));
      if (response.ok && form.dataset.show) {
        const target = document.querySelector(form.dataset.target);
        const value = json[form.dataset.show];
        target.textContent = typeof value === "number" ? value.toLocaleString() : String(value);
        return;
      }
      if (response.ok && json.job_id) {
        // A background job (rescoring, …): show its state until it ends, then reload.
        await follow(json.job_id, button);
        return;
      }
      if (response.ok) {
        const next = form.dataset.redirect;
        window.location = next ? next.replace("{id}", encodeURIComponent(json.id || "")) : window.location.href;
        return;
      }
      showError(form, json.error || { message: response.status + " " + response.statusText });
    } catch (e) {
      showError(form, { message: String(e) });
    } finally {
      if (button) { button.disabled = false; button.textContent = button.dataset.label; }
    }
  });

  // The segment builder: rows of conditions that write the API's condition tree into
  // the #condition textarea.
  const builder = document.getElementById("builder");
  if (builder) {
    const zh = builder.dataset.lang !== "en";
    const t = (a, b) => (zh ? a : b);
    const ops = [["gte", "≥"], ["lte", "≤"], ["eq", "="], ["gt", ">"], ["lt", "<"], ["ne", "≠"]];
    const kinds = [
      ["event", t("行为次数", "Event count")],
      ["order", t("下单次数", "Order count")],
      ["profile", t("画像字段", "Profile field")],
      ["rfm", t("RFM 分", "RFM score")],
      ["lifecycle", t("生命周期", "Lifecycle")],
    ];
    const select = (options, cls) => {
      const s = document.createElement("select");
      s.className = cls;
      options.forEach(([v, label]) => s.add(new Option(label, v)));
      return s;
    };
    const input = (cls, placeholder, type) => {
      const i = document.createElement("input");
      i.className = cls; i.placeholder = placeholder; i.type = type || "text";
      return i;
    };
    const list = document.createElement("div");
    const combine = select([["all", t("满足全部", "match all")], ["any", t("满足任一", "match any")]], "combine");
    const add = document.createElement("button");
    add.type = "button"; add.textContent = t("+ 条件", "+ condition");
    builder.append(combine, list, add);
    const write = () => {
      const nodes = Array.from(list.children).map((row) => {
        const v = (c) => row.querySelector("." + c).value.trim();
        const n = (c) => Number(v(c));
        const node = (body) => (row.querySelector(".negate").checked ? { not: body } : body);
        switch (v("kind")) {
          case "event": return node({ event: { type: v("a"), within_days: n("b"), op: v("op"), count: n("c") } });
          case "order": {
            const order = { op: v("op"), count: n("c") };
            if (v("b") !== "") order.within_days = n("b");
            return node({ order });
          }
          case "profile": return node({ profile: { field: v("a"), op: v("op"), value: n("c") } });
          case "rfm": return node({ rfm: { dimension: v("a"), op: v("op"), value: n("c") } });
          default: return node({ lifecycle: { in: v("a").split(",").map((s) => s.trim()).filter(Boolean) } });
        }
      });
      document.getElementById("condition").value = JSON.stringify({ [combine.value]: nodes });
    };
    const addRow = () => {
      const row = document.createElement("div");
      row.className = "builder-row";
      const kind = select(kinds, "kind");
      const a = input("a", "share"), b = input("b", t("近 N 天", "within days"), "number");
      const op = select(ops, "op"), c = input("c", t("数值", "value"), "number");
      const negate = document.createElement("input");
      negate.type = "checkbox"; negate.className = "negate";
      const label = document.createElement("label");
      label.append(negate, t(" 取反", " not"));
      const remove = document.createElement("button");
      remove.type = "button"; remove.className = "link"; remove.textContent = "×";
      remove.onclick = () => { row.remove(); write(); };
      const hints = {
        event: ["share", t("近 N 天", "within days")],
        order: ["", t("近 N 天（空为全部）", "within days (empty: ever)")],
        profile: ["gmv_fen", ""],
        rfm: ["r / f / m", ""],
        lifecycle: ["new, growing, mature, churn_risk, dormant", ""],
      };
      kind.onchange = () => { const h = hints[kind.value]; a.placeholder = h[0]; b.placeholder = h[1]; b.hidden = !h[1]; };
      row.append(kind, a, b, op, c, label, remove);
      row.oninput = write; row.onchange = write;
      list.appendChild(row);
      kind.onchange(); write();
    };
    add.onclick = addRow;
    combine.onchange = write;
    addRow();
  }

  // Sortable tables: numbers by value (data-sort if present), text by locale.
  document.addEventListener("click", (event) => {
    const th = event.target.closest("table.sortable th");
    if (!th) return;
    const table = th.closest("table");
    const index = Array.from(th.parentNode.children).indexOf(th);
    const rows = Array.from(table.tBodies[0].rows);
    const ascending = th.dataset.dir !== "asc";
    table.querySelectorAll("th").forEach((h) => delete h.dataset.dir);
    th.dataset.dir = ascending ? "asc" : "desc";
    const key = (row) => {
      const cell = row.cells[index];
      const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      const n = Number(raw);
      return raw !== "" && !Number.isNaN(n) ? n : raw;
    };
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN");
      return ascending ? c : -c;
    });
    rows.forEach((r) => table.tBodies[0].appendChild(r));
  });

  // CSV export of a table as shown.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-export]");
    if (!link) return;
    event.preventDefault();
    const table = document.getElementById(link.dataset.export);
    const quote = (s) => '"' + s.replace(/"/g, '""') + '"';
    const csv = Array.from(table.rows)
      .map((r) => Array.from(r.cells).map((c) => quote(c.textContent.trim())).join(","))
      .join("\n");
    const blob = new Blob(["\ufeff" + csv], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = (link.dataset.name || "export") + ".csv";
    a.click();
  });
})();

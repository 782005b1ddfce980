// <contacts-importer token="..." list-id="...">: the contacts-import service's browser importer.
// One ES module, no dependencies, no build step (docs/importer.md). Everything a file holds reaches
// the page as text (textContent, never markup), so a cell holding <script> shows as those characters.
// Steps whose routes a service lacks answer 404 and are skipped: no preview, the file goes straight
// to the presigned upload; no undo route, no undo button.

const FIELDS = ["phone", "name", "first_name", "last_name", "email", "company", "tags"];
const FIELD_LABELS = {
  phone: "Phone", name: "Full name", first_name: "First name", last_name: "Last name",
  email: "E-mail", company: "Company", tags: "Tags", ignore: "Leave out",
};
const COUNTS = [
  ["total_rows", "Rows in the file"], ["created", "Created"], ["updated", "Updated"],
  ["unchanged", "Unchanged"], ["skipped_existing", "Already in the list"],
  ["skipped_duplicates", "Repeated in the file"], ["invalid", "Not imported (errors)"],
  ["deleted", "Deleted"], ["restored", "Restored"], ["kept", "Kept"],
];
const ENDED = new Set(["completed", "failed", "cancelled"]);
const PREVIEW_BYTES = 256 * 1024;
// Below this a file goes in one presigned request; above it in parts, resumable (when the service has them).
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PARALLEL_PARTS = 4;
const POLL_MS = 1000;
const FIRST_ERRORS_SHOWN = 20;
const RESUME_PREFIX = "contacts-importer:upload:";

const ROW_PROBLEMS = {
  invalid_phone: (e) => `the phone number ${quoted(e.value)} is not a number that can be called${reason(e.message)}`,
  missing_phone: () => "there is no phone number",
  invalid_email: (e) => `the e-mail address ${quoted(e.value)} is not a valid address`,
  field_too_long: (e) => `a cell${e.column ? ` (${e.column})` : ""} is longer than a contact may hold`,
  row_too_long: () => "the row is longer than a contact may hold",
  too_many_fields: () => "the row has more cells than the file has columns",
  unterminated_quote: () => "a quotation mark opened in this row is never closed",
  changed_since: () => "the contact was changed by a later import, so undo kept it as it is",
};
const FILE_PROBLEMS = {
  empty_file: "The file holds no contacts.",
  not_csv: "The file is not a spreadsheet of contacts (CSV, TSV, xlsx or gzip).",
  missing_required_column: "No column of the file holds phone numbers: choose one as Phone.",
  file_too_large: "The file is larger than the service accepts.",
  bad_encoding: "The file's characters could not be read: save it as UTF-8 and try again.",
  too_many_columns: "The file has more columns than the service accepts.",
  stalled: "The import stopped making progress; try again.",
};

function quoted(value) {
  return value ? `“${value}”` : "(empty)";
}

function reason(message) {
  const found = /too short|too long/.exec(message || "");
  return found ? `: it is ${found[0]}` : "";
}

/** A sentence a person reads for one row error: "row 17: the phone number “12345” is ... too short". */
export function describeRowError(error) {
  const problem = ROW_PROBLEMS[error.code];
  return `Row ${error.row}: ${problem ? problem(error) : error.message || error.code}.`;
}

/** An element with attributes and children; strings become text nodes, never markup. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The service answered ${status}.`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = error.details || null;
  }
}

const CSS = `
contacts-importer { display: block; font: 1rem/1.5 system-ui, sans-serif; color: #1b1b1b; max-width: 60rem; }
contacts-importer [hidden] { display: none !important; }
contacts-importer .ci-box { border: 2px dashed #6b7280; border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
contacts-importer .ci-box.ci-over { border-color: #1a56db; background: #eef4ff; }
contacts-importer label { font-weight: 600; display: inline-block; margin: 0 .5rem .25rem 0; }
contacts-importer button { font: inherit; padding: .4rem 1rem; border-radius: .3rem; border: 1px solid #1a56db;
  background: #1a56db; color: #fff; cursor: pointer; margin: 0 .5rem .5rem 0; }
contacts-importer button.ci-secondary { background: #fff; color: #1a56db; }
contacts-importer button:disabled { background: #9ca3af; border-color: #9ca3af; color: #fff; cursor: not-allowed; }
contacts-importer :focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
contacts-importer select, contacts-importer input[type=text] { font: inherit; padding: .2rem; }
contacts-importer table { border-collapse: collapse; margin: .5rem 0 1rem; display: block; overflow-x: auto; }
contacts-importer th, contacts-importer td { border: 1px solid #d1d5db; padding: .25rem .5rem; text-align: left;
  vertical-align: top; white-space: pre-wrap; }
contacts-importer caption { text-align: left; font-weight: 600; }
contacts-importer .ci-row-error td { background: #fef2f2; }
contacts-importer .ci-track { height: 1.25rem; background: #e5e7eb; border-radius: .3rem; overflow: hidden; }
contacts-importer .ci-bar { height: 100%; width: 0; background: #047857; transition: width .3s; }
contacts-importer .ci-alert:not(:empty) { border-left: 4px solid #b91c1c; background: #fef2f2; padding: .5rem 1rem; }
contacts-importer dl { display: grid; grid-template-columns: max-content max-content; gap: .1rem 1rem; }
contacts-importer dd { margin: 0; font-weight: 700; font-variant-numeric: tabular-nums; }
`;
const SHEET = typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype ? new CSSStyleSheet() : null;
if (SHEET) SHEET.replaceSync(CSS);

let instances = 0;

export class ContactsImporter extends HTMLElement {
  static observedAttributes = ["token", "list-id", "api"];

  constructor() {
    super();
    this._id = `ci${++instances}`;
    this._file = null;
    this._preview = null;
    this._mappingChanged = false;
    this._features = {};
  }

  // ---------------------------------------------------------------- what it acts with
  get token() {
    return this.hasAttribute("from-fragment") ? this._fragment().get("token") || "" : this.getAttribute("token") || "";
  }

  get listId() {
    const fromFragment = this.hasAttribute("from-fragment") ? this._fragment().get("list_id") : null;
    return fromFragment || this.getAttribute("list-id") || "default";
  }

  get apiBase() {
    // The API that served this script, unless the embedding page names another.
    return new URL(this.getAttribute("api") || ".", this.getAttribute("api") ? document.baseURI : import.meta.url);
  }

  _fragment() {
    return new URLSearchParams(window.location.hash.replace(/^#/, ""));
  }

  connectedCallback() {
    const root = this.getRootNode();
    if (SHEET && root.adoptedStyleSheets && !root.adoptedStyleSheets.includes(SHEET)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, SHEET];
    }
    if (!this._ui) this._build();
    if (!this.token) this._alert("No token: open this page as …/importer#token=<token>&list_id=<list>.");
    this._detectFeatures();
  }

  // ---------------------------------------------------------------- the page's parts
  _build() {
    const id = (name) => `${this._id}-${name}`;
    const ui = (this._ui = {});
    ui.status = el("p", { role: "status", "aria-live": "polite", class: "ci-status" });
    ui.alert = el("div", { role: "alert", class: "ci-alert" });
    ui.file = el("input", {
      type: "file", id: id("file"), "aria-describedby": id("file-help"),
      accept: ".csv,.tsv,.txt,.xlsx,.gz,text/csv,text/tab-separated-values,application/gzip,"
        + "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    });
    ui.box = el("div", { class: "ci-box" },
      el("label", { for: id("file") }, "File of contacts"), ui.file,
      el("p", { id: id("file-help") }, "A CSV, TSV, Excel (xlsx) or gzip file, chosen here or dropped on this box."));
    ui.update = el("input", { type: "checkbox", id: id("update") });
    ui.options = el("p", {}, ui.update, el("label", { for: id("update") }, "Update contacts already in the list"));
    ui.preview = el("section", { hidden: true, "aria-labelledby": id("preview-h") });
    ui.dryRun = el("button", { type: "button", class: "ci-secondary", disabled: true }, "Dry run");
    ui.import = el("button", { type: "button", disabled: true }, "Import");
    ui.progressLabel = el("span", { id: id("progress-label") }, "Uploading");
    ui.bar = el("div", { class: "ci-bar" });
    ui.progressbar = el("div", {
      role: "progressbar", "aria-labelledby": id("progress-label"),
      "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0, class: "ci-track",
    }, ui.bar);
    ui.progress = el("div", { hidden: true }, ui.progressLabel, ui.progressbar);
    ui.plan = el("section", { hidden: true });
    ui.summary = el("section", { hidden: true });
    this.append(ui.alert, ui.box, ui.options, ui.preview, el("p", {}, ui.dryRun, ui.import), ui.progress,
      ui.status, ui.plan, ui.summary);

    ui.file.addEventListener("change", () => ui.file.files[0] && this._choose(ui.file.files[0]));
    ui.import.addEventListener("click", () => this._run(false));
    ui.dryRun.addEventListener("click", () => this._run(true));
    ui.box.addEventListener("dragover", (event) => { event.preventDefault(); ui.box.classList.add("ci-over"); });
    ui.box.addEventListener("dragleave", () => ui.box.classList.remove("ci-over"));
    ui.box.addEventListener("drop", (event) => {
      event.preventDefault();
      ui.box.classList.remove("ci-over");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) this._choose(file);
    });
  }

  _alert(text) {
    this._ui.alert.textContent = text || "";
  }

  _say(text) {
    this._ui.status.textContent = text;
  }

  _busy(busy) {
    for (const button of [this._ui.import, this._ui.dryRun]) button.disabled = busy || !this._file;
    this._ui.file.disabled = busy;
  }

  _setProgress(label, fraction) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    this._ui.progress.hidden = false;
    this._ui.progressLabel.textContent = label;
    this._ui.progressbar.setAttribute("aria-valuenow", String(percent));
    this._ui.progressbar.setAttribute("aria-valuetext", `${label}: ${percent}%`);
    this._ui.bar.style.width = `${percent}%`;
  }

  // ---------------------------------------------------------------- talking to the API
  async _fetch(method, path, { body, contentType, accept } = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (contentType) headers["Content-Type"] = contentType;
    if (accept) headers.Accept = accept;
    const url = new URL(path.replace(/^\//, ""), this.apiBase);
    return fetch(url, { method, headers, body, credentials: "omit", referrerPolicy: "no-referrer" });
  }

  async _json(method, path, member) {
    const response = await this._fetch(method, path, member === undefined ? {} : {
      body: JSON.stringify(member), contentType: "application/json",
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  async _detectFeatures() {
    // The routes that add a button (undo, commit) are read from the API's own document; a step
    // without a button (preview, plan) is simply tried, and a 404 skips it.
    try {
      const paths = (await this._json("GET", "openapi.json")).paths || {};
      this._features.undo = "/imports/{job_id}/undo" in paths;
      this._features.commit = "/imports/{job_id}/commit" in paths;
    } catch {
      this._features = {};
    }
  }

  _options(dryRun) {
    const options = { list_id: this.listId, on_existing: this._ui.update.checked ? "update" : "skip" };
    if (dryRun) options.dry_run = true;
    if (this._mappingChanged && this._preview) options.mapping = this._mapping();
    return options;
  }

  // ---------------------------------------------------------------- 1. a file, 2. its preview
  async _choose(file) {
    this._file = file;
    this._preview = null;
    this._mappingChanged = false;
    this._alert("");
    this._ui.preview.hidden = this._ui.plan.hidden = this._ui.summary.hidden = this._ui.progress.hidden = true;
    this._busy(false);
    const resume = this._resumeRecord(file);
    this._say(resume ? `${file.name}: an upload of this file was interrupted; Import resumes it.`
      : `${file.name} chosen (${formatBytes(file.size)}).`);
    try {
      const response = await this._fetch("POST", `imports/preview?list_id=${encodeURIComponent(this.listId)}`, {
        body: file.slice(0, PREVIEW_BYTES), contentType: "application/octet-stream",
      });
      if (response.status === 404 || response.status === 405) return; // no preview on this service
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, body);
      if (this._file === file) this._showPreview(body.data);
    } catch (error) {
      if (this._file === file) this._alert(`The preview could not be made: ${error.message} Import still works.`);
    }
  }

  _showPreview(preview) {
    this._preview = preview;
    const id = `${this._id}-preview-h`;
    const columns = preview.columns || [];
    const heads = columns.map((column, index) => {
      const selectId = `${this._id}-col-${index}`;
      const suggested = column.field || `custom:${column.header}`;
      const choices = [...FIELDS, `custom:${column.header}`, "ignore"];
      if (!choices.includes(suggested)) choices.push(suggested);
      const select = el("select", { id: selectId, "data-header": column.header },
        choices.map((field) => el("option", { value: field, selected: field === suggested },
          FIELD_LABELS[field] || `Custom field “${field.slice("custom:".length)}”`)));
      select.addEventListener("change", () => { this._mappingChanged = true; });
      return el("th", { scope: "col" }, el("label", { for: selectId }, column.header || `Column ${index + 1}`), select);
    });
    const rows = (preview.rows || []).map((row) => {
      const errors = row.errors || [];
      return el("tr", { class: errors.length ? "ci-row-error" : null },
        el("th", { scope: "row" }, String(row.row)),
        (row.values || []).map((value) => el("td", {}, value == null ? "" : String(value))),
        el("td", {}, errors.map((e) => describeRowError({ row: row.row, ...e })).join(" ") || "Ready"));
    });
    const profileName = el("input", { type: "text", id: `${this._id}-profile` });
    const save = el("button", { type: "button", class: "ci-secondary" }, "Save mapping");
    save.addEventListener("click", () => this._saveProfile(profileName.value.trim()));
    const detected = [
      preview.encoding && `Encoding ${preview.encoding}`,
      preview.delimiter && `delimiter ${JSON.stringify(preview.delimiter)}`,
      preview.profile && `saved mapping “${preview.profile}” applied`,
    ].filter(Boolean).join(", ");
    this._ui.preview.replaceChildren(
      el("h2", { id }, "Preview"), el("p", {}, detected),
      el("table", {}, el("caption", {}, "The first rows as they will be imported; choose each column's field."),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Row"), heads, el("th", { scope: "col" }, "Outcome"))),
        el("tbody", {}, rows)),
      el("p", {}, el("label", { for: profileName.id }, "Save this mapping as"), profileName, save));
    this._ui.preview.hidden = false;
  }

  _mapping() {
    const mapping = {};
    for (const select of this._ui.preview.querySelectorAll("select[data-header]")) {
      mapping[select.dataset.header] = select.value;
    }
    return mapping;
  }

  async _saveProfile(name) {
    if (!name) return this._alert("Name the mapping before saving it.");
    try {
      await this._json("PUT", `mapping-profiles/${encodeURIComponent(name)}`, { mapping: this._mapping(), options: {} });
      this._say(`Mapping saved as “${name}”.`);
    } catch (error) {
      this._alert(error.status === 404 ? "This service does not keep saved mappings." : error.message);
    }
  }

  // ---------------------------------------------------------------- 3. upload and follow the job
  async _run(dryRun) {
    const file = this._file;
    if (!file) return;
    this._busy(true);
    this._alert("");
    this._ui.plan.hidden = this._ui.summary.hidden = true;
    try {
      this._setProgress(`Uploading ${file.name}`, 0);
      const jobId = await this._upload(file, this._options(dryRun));
      const job = await this._follow(jobId);
      if (dryRun && job.status === "completed") await this._showPlan(job);
      else this._showSummary(job);
    } catch (error) {
      this._alert(`The import did not go through: ${error.message}`);
    } finally {
      this._busy(false);
    }
  }

  async _upload(file, options) {
    const record = this._resumeRecord(file);
    if (record) {
      try {
        return await this._multipart(file, record);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        this._forget(file); // the service no longer has that upload: start afresh
      }
    }
    const request = { file_name: file.name, ...options };
    if (file.size > MULTIPART_THRESHOLD) {
      try {
        const body = await this._json("POST", "imports/uploads", { ...request, multipart: true, size: file.size });
        const upload = body.data.upload;
        if (upload.method === "MULTIPART") {
          const fresh = { job_id: body.data.job_id, part_size: upload.part_size, parts: upload.parts, etags: {} };
          this._remember(file, fresh);
          return await this._multipart(file, fresh);
        }
        await this._single(file, upload);
        return body.data.job_id;
      } catch (error) {
        // A service without multipart uploads refuses the option: one request instead.
        if (!(error instanceof ApiError && error.status === 400)) throw error;
      }
    }
    const body = await this._json("POST", "imports/uploads", request);
    await this._single(file, body.data.upload);
    return body.data.job_id;
  }

  _single(file, upload) {
    let body = file;
    const headers = { ...(upload.headers || {}) };
    if (upload.method === "POST") {
      body = new FormData();
      for (const [name, value] of Object.entries(upload.fields || {})) body.append(name, value);
      body.append("file", file, file.name);
    }
    return send(upload.method, upload.url, body, headers, (sent) => {
      this._setProgress(`Uploading ${file.name}`, sent / file.size);
    });
  }

  async _multipart(file, record) {
    // What S3 already holds, and fresh URLs for the rest: a reload or a dropped connection resumes here.
    const state = (await this._json("GET", `imports/${record.job_id}/upload`)).data;
    const etags = {};
    const todo = [];
    for (const part of state.parts) {
      if (part.etag) etags[part.part_number] = part.etag;
      else todo.push(part);
    }
    const partSize = state.part_size;
    const sent = {};
    const done = () => Object.keys(etags).length * partSize;
    const report = () => {
      const inFlight = Object.values(sent).reduce((a, b) => a + b, 0);
      this._setProgress(`Uploading ${file.name}`, Math.min(1, (done() + inFlight) / file.size));
    };
    report();
    const worker = async () => {
      for (let part = todo.shift(); part; part = todo.shift()) {
        const start = (part.part_number - 1) * partSize;
        const response = await send("PUT", part.url, file.slice(start, start + partSize), {}, (bytes) => {
          sent[part.part_number] = bytes;
          report();
        }, true);
        delete sent[part.part_number];
        etags[part.part_number] = response.etag;
        this._remember(file, { ...record, etags });
        report();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
    const parts = Object.entries(etags).map(([number, etag]) => ({ part_number: Number(number), etag }))
      .sort((a, b) => a.part_number - b.part_number);
    await this._json("POST", `imports/${record.job_id}/upload/complete`, { parts });
    this._forget(file);
    return record.job_id;
  }

  _resumeKey(file) {
    return `${RESUME_PREFIX}${this.listId}:${file.name}:${file.size}:${file.lastModified}`;
  }

  _resumeRecord(file) {
    try {
      return JSON.parse(window.localStorage.getItem(this._resumeKey(file)) || "null");
    } catch {
      return null;
    }
  }

  _remember(file, record) {
    try {
      window.localStorage.setItem(this._resumeKey(file), JSON.stringify({ job_id: record.job_id, etags: record.etags }));
    } catch {
      // Storage full or refused (a private window): the upload goes on, without resume.
    }
  }

  _forget(file) {
    try {
      window.localStorage.removeItem(this._resumeKey(file));
    } catch {
      // nothing kept, nothing to remove
    }
  }

  async _follow(jobId) {
    this._say("The file is in; the import starts.");
    for (;;) {
      const job = (await this._json("GET", `imports/${encodeURIComponent(jobId)}`)).data;
      const counts = job.counts || {};
      const rows = counts.total_rows ? `${counts.processed_rows || 0} of ${counts.total_rows} rows` : "reading the file";
      this._setProgress(`Importing: ${rows}`, job.progress || 0);
      if (ENDED.has(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  // ---------------------------------------------------------------- 4. a dry run's plan, 5. the summary
  async _showPlan(job) {
    const parts = [el("h2", { tabindex: -1 }, "Dry run: what the import would do"), countList(job, "data-plan-count")];
    try {
      const response = await this._fetch("GET", `imports/${job.job_id}/plan?limit=20`);
      if (response.ok) {
        const changes = (await response.json()).data || [];
        parts.push(el("table", {}, el("caption", {}, "The first rows of the plan"),
          el("thead", {}, el("tr", {}, ["Row", "Phone", "Outcome", "Changes"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, changes.map((entry) => el("tr", {},
            el("td", {}, String(entry.row)), el("td", {}, entry.phone || ""), el("td", {}, entry.outcome),
            el("td", {}, Object.entries(entry.changes || {}).map(([f, c]) => `${f}: ${c.from ?? "—"} → ${c.to ?? "—"}`)
              .join("; ")))))));
      }
    } catch {
      // no plan on this service: the counts say what there is to say
    }
    const go = el("button", { type: "button" }, "Import these rows");
    go.addEventListener("click", () => this._commit(job));
    parts.push(el("p", {}, go));
    this._ui.plan.replaceChildren(...parts);
    this._ui.plan.hidden = false;
    this._say(`Dry run done: ${job.counts.created} would be created, ${job.counts.invalid} have errors.`);
    parts[0].focus();
  }

  async _commit(plan) {
    if (!this._features.commit) return this._run(false);
    this._busy(true);
    try {
      const job = await this._follow((await this._json("POST", `imports/${plan.job_id}/commit`, { force: false })).data.job_id);
      this._ui.plan.hidden = true;
      this._showSummary(job);
    } catch (error) {
      this._alert(error.code === "list_changed"
        ? "The list changed since the dry run: run it again to see what the import would do now."
        : `The import did not go through: ${error.message}`);
    } finally {
      this._busy(false);
    }
  }

  _showSummary(job, title = "Import summary") {
    const heading = el("h2", { tabindex: -1 }, title);
    const parts = [heading];
    if (job.status === "failed") {
      const failure = job.failure || {};
      this._alert(`The file could not be imported. ${FILE_PROBLEMS[failure.code] || failure.message || ""}`);
    }
    parts.push(el("p", {}, `Status: ${job.status}.`), countList(job, "data-count"));
    const errors = (job.errors || []).slice(0, FIRST_ERRORS_SHOWN);
    if (errors.length) {
      parts.push(el("table", {}, el("caption", {}, `The first row errors (${job.error_count} in all)`),
        el("thead", {}, el("tr", {}, ["Row", "Problem", "Column", "Value"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, errors.map((e) => el("tr", {},
          el("td", {}, String(e.row)), el("td", {}, describeRowError(e)), el("td", {}, e.column || ""),
          el("td", {}, e.value == null ? "" : String(e.value)))))));
    }
    const actions = el("p", {});
    if (job.error_count > 0) {
      const download = el("button", { type: "button", class: "ci-secondary" }, "Download the error CSV");
      download.addEventListener("click", () => this._downloadErrors(job));
      actions.append(download);
    }
    if (this._features.undo && job.status === "completed" && !job.dry_run && !job.undoes) {
      const undo = el("button", { type: "button", class: "ci-secondary" }, "Undo this import");
      undo.addEventListener("click", () => this._undo(job, undo));
      actions.append(undo);
    }
    parts.push(actions);
    this._ui.summary.replaceChildren(...parts);
    this._ui.summary.hidden = false;
    const c = job.counts || {};
    this._say(`Import ${job.status}: ${c.created || 0} created, ${c.updated || 0} updated, ${c.invalid || 0} with errors.`);
    heading.focus();
    const name = job.status === "completed" ? "import:completed" : "import:failed";
    this.dispatchEvent(new CustomEvent(name, { detail: job, bubbles: true, composed: true }));
  }

  async _downloadErrors(job) {
    try {
      const response = await this._fetch("GET", `imports/${job.job_id}/errors`, { accept: "text/csv" });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `${job.job_id}-errors.csv` });
      this.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      this._say("The error CSV is downloaded.");
    } catch (error) {
      this._alert(`The error CSV could not be downloaded: ${error.message}`);
    }
  }

  async _undo(job, button) {
    button.disabled = true;
    try {
      const undo = await this._follow((await this._json("POST", `imports/${job.job_id}/undo`)).data.job_id);
      this._showSummary(undo, "Undo summary");
    } catch (error) {
      button.hidden = error.status === 404;
      this._alert(error.status === 404 ? "Undo is not available on this service."
        : error.code === "not_undoable" ? "This import can no longer be undone." : error.message);
    }
  }
}

function countList(job, attribute) {
  const counts = job.counts || {};
  return el("dl", {}, COUNTS.filter(([name]) => name in counts).map(([name, label]) => [
    el("dt", {}, label), el("dd", { [attribute]: name }, String(counts[name] ?? 0)),
  ]));
}

function formatBytes(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

/** One request with upload progress (fetch has none): resolves with its ETag (S3 exposes it to
 * browsers for parts: the bucket's CORS rule), rejects on failure. */
function send(method, url, body, headers, onProgress, wantETag = false) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve({ etag: wantETag ? request.getResponseHeader("ETag") : null });
      else reject(new Error(`The upload was refused (${request.status}).`));
    });
    request.addEventListener("error", () => reject(new Error("The connection dropped during the upload; choose Import again to go on.")));
    request.send(body);
  });
}

if (!customElements.get("contacts-importer")) customElements.define("contacts-importer", ContactsImporter);

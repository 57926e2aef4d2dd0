// The page of `rag serve`: plain JavaScript, no library, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let token = params.get("token") || sessionStorage.getItem("rag-token") || "";
if (token) sessionStorage.setItem("rag-token", token);
if (params.has("token")) {  // read once, then kept out of the address bar (and of history and bookmarks)
  params.delete("token");
  history.replaceState(null, "", location.pathname + (params.size ? `?${params}` : "") + location.hash);
}
const csrf = document.querySelector('meta[name="rag-csrf"]').content;
let turns = [];

function headers(extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

// An error reply's message, whatever the server or a proxy sent.
async function failure(response) {
  const text = await response.text();
  try { return JSON.parse(text).error.message; } catch { return `${response.status} ${response.statusText}: ${text.slice(0, 200)}`; }
}

// A server that needs its token: the page asks for it once, and keeps it for this tab only.
function askForToken(message) {
  const box = $("token-form");
  box.hidden = false;
  $("token-message").textContent = message;
  $("token").focus();
}
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("rag-token", token);
  $("token").value = "";
  $("token-form").hidden = true;
  loadIndexes();
});

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  node.dir = "auto";
  return node;
}

// A PDF opens in the browser's viewer at its page; any other document as its text, the passage marked.
function documentLink(file, source, page, chunk) {
  const query = new URLSearchParams({ index: $("index").value });
  if (token) query.set("token", token);
  if (source.toLowerCase().endsWith(".pdf")) return `/files/${file}?${query}${page ? `#page=${page}` : ""}`;
  query.set("chunk", chunk ?? 0);
  return `/files/${file}?${query}#passage`;
}

function place(source, page, heading, ocr) {
  const name = source.split("/").pop();
  return `${name}${page ? `, p. ${page}` : ""}${heading ? ` — ${heading}` : ""}${ocr ? " (OCR)" : ""}`;
}

function sourceItem(s, label, supporting = false) {
  const item = element("li");
  const link = element("a", "", (label ? `[${label}] ` : "") + place(s.source, s.page, s.heading, s.ocr));
  if (supporting) item.title = "The model cited no passage; this one holds the answer's words.";
  link.href = documentLink(s.file, s.source, s.page, s.chunk);
  link.target = "_blank";
  link.rel = "noopener";
  item.append(link);
  if (s.text) {
    const details = element("details");
    details.append(element("summary", "", "passage"), element("p", "", s.text));
    item.append(details);
  }
  return item;
}

async function loadIndexes() {
  const response = await fetch("/api/indexes", { headers: headers() });
  if (response.status === 401) { askForToken(await failure(response)); return; }
  if (!response.ok) { $("status").textContent = await failure(response); return; }
  const data = await response.json();
  const select = $("index");
  const current = select.value || data.default;
  select.replaceChildren();
  for (const index of data.indexes) {
    const option = element("option", "", `${index.name} (${index.files} files)`);
    option.value = index.name;
    option.selected = index.name === current;
    select.append(option);
  }
  if (!data.indexes.length) $("status").textContent = "No index yet. Run: rag ingest PATH";
}

// Server-Sent Events from a POST: read the stream and split it into events.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield [kind, JSON.parse(data)];
    }
  }
}

async function ask(question) {
  const turn = element("section", "turn");
  turn.append(element("div", "question", question));
  $("conversation").append(turn);
  const note = element("div", "queue");
  const answer = element("div", "answer");
  turn.append(note, answer);
  const response = await fetch("/api/ask", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ question, index: $("index").value, history: turns }),
  });
  if (!response.ok) { answer.textContent = await failure(response); return; }
  for await (const [kind, data] of events(response)) {
    if (kind === "queue") note.textContent = data.position ? `Waiting for the model: ${data.position} ahead of you…` : "";
    else if (kind === "rewrite") turn.insertBefore(element("div", "rewrite", `Understood as: ${data.question}`), note);
    else if (kind === "evidence") {
      note.textContent = "";
      const box = element("blockquote", "evidence", data.text);
      const where = element("a", "where", place(data.source, data.page, data.heading, data.ocr));
      where.href = documentLink(data.file, data.source, data.page, data.chunk);
      where.target = "_blank";
      where.rel = "noopener";
      box.append(where);
      turn.insertBefore(box, answer);
    } else if (kind === "text") answer.textContent += data.text;
    else if (kind === "error") answer.textContent = data.message;
    else if (kind === "done") {
      answer.textContent = data.answer;
      if (data.abstained) answer.classList.add("abstained");
      const shown = data.sources.filter((s) => data.shown_sources.includes(s.n));
      if (shown.length) {
        const list = element("ul", "sources");
        for (const s of shown) list.append(sourceItem(s, s.n, !s.cited));
        turn.append(list);
      }
      turns.push([question, data.answer]);
      turn.classList.add("done");
    }
    turn.scrollIntoView({ block: "end" });
  }
}

async function search(query) {
  const turn = element("section", "turn");
  turn.append(element("div", "question", query));
  $("conversation").append(turn);
  const url = `/api/search?${new URLSearchParams({ q: query, index: $("index").value })}`;
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) { turn.append(element("div", "answer", await failure(response))); return; }
  const data = await response.json();
  const list = element("ol", "sources");
  for (const hit of data.hits) list.append(sourceItem(hit));
  turn.append(data.hits.length ? list : element("div", "answer abstained", "No passage matches."));
  turn.classList.add("done");
}

const STAGES = { hash: "checking", parse: "reading", searchable: "searchable now:", embed: "indexing" };

async function upload(files) {
  if (!files.length) return;
  const turn = element("section", "turn");
  turn.append(element("div", "question", `Adding ${files.length} document${files.length > 1 ? "s" : ""}: ${[...files].map((f) => f.name).join(", ")}`));
  const note = element("div", "queue", "Uploading…");
  const skipped = element("ul", "sources skipped");
  turn.append(note, skipped);
  $("conversation").append(turn);
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  let response;
  try {
    response = await fetch(`/api/ingest?${new URLSearchParams({ index: $("index").value })}`,
      { method: "POST", headers: headers({ "X-Rag-CSRF": csrf }), body: form });
  } catch (error) { note.textContent = `The upload failed: ${error.message}`; note.classList.add("skipped"); return; }
  if (!response.ok) { note.textContent = `The upload failed: ${await failure(response)}`; note.classList.add("skipped"); return; }
  for await (const [kind, data] of events(response)) {
    if (kind === "saved") note.textContent = `Saved ${data.files.length}; indexing…`;
    else if (kind === "progress") note.textContent = `${STAGES[data.stage] || data.stage} ${data.done}/${data.total}`;
    else if (kind === "skipped") skipped.append(element("li", "", `${data.path.split("/").pop()}: ${data.reason}`));
    else if (kind === "partial") skipped.append(element("li", "", `${data.path.split("/").pop()}: indexed without ${data.lost.map((p) => (p.page ? `page ${p.page}` : p.reason)).join(", ")}`));
    else if (kind === "error") note.textContent = data.message;
    else if (kind === "done") {
      note.textContent = `Added ${data.added}, updated ${data.changed}, unchanged ${data.unchanged}, skipped ${data.skipped.length}. Ready to ask.`;
      turn.classList.add("done");
      loadIndexes();
    }
  }
}

$("files").addEventListener("change", () => { upload($("files").files); $("files").value = ""; });
document.addEventListener("dragover", (event) => { event.preventDefault(); $("drop").hidden = false; });
document.addEventListener("dragleave", (event) => { if (!event.relatedTarget) $("drop").hidden = true; });
document.addEventListener("drop", (event) => { event.preventDefault(); $("drop").hidden = true; upload(event.dataTransfer.files); });

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("question").value = "";
  $("ask-button").disabled = true;
  try {
    await ($("search-only").checked ? search(question) : ask(question));
  } catch (error) {
    $("status").textContent = `The server could not be reached: ${error.message}`;
  } finally {
    $("ask-button").disabled = false;
  }
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask-form").requestSubmit(); }
});
$("new-conversation").addEventListener("click", () => { turns = []; $("conversation").replaceChildren(); });
$("index").addEventListener("change", () => { turns = []; });
// A question in the address (?q=…&index=…&search=1) is asked as the page opens: a question can be bookmarked or linked.
loadIndexes().then(() => {
  if (params.get("index")) $("index").value = params.get("index");
  if (params.get("search")) $("search-only").checked = true;
  if (params.get("q")) return $("search-only").checked ? search(params.get("q")) : ask(params.get("q"));
});

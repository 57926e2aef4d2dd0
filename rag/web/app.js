// The page of `rag serve`: plain JavaScript, no library, nothing loaded from elsewhere.
// Conversations are kept in this browser (localStorage): a server shared by several people
// never holds one person's questions where another could list them.
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
const STORE = "rag-conversations";
let conversations = load();  // [{id, title, index, created, turns: [{question, standalone, answer, ...}]}]
let current = null;          // the open conversation
let running = null;          // {controller, conversation} of the answer being streamed
let scope = new Set();      // file ids the next questions are limited to

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
  $("token-form").hidden = false;
  $("token-message").textContent = message;
  $("token").focus();
}
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("rag-token", token);
  $("token").value = "";
  $("token-form").hidden = true;
  loadIndexes().then(loadDocuments);
});

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  node.dir = "auto";
  return node;
}

// --- Markdown, safely: the answer's own text becomes DOM nodes, never HTML -----------------------
function inline(text) {
  const out = document.createDocumentFragment();
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    out.append(text.slice(at, match.index));
    out.append(match[1] !== undefined ? element("code", "", match[1]) : element("strong", "", match[2]));
    at = match.index + match[0].length;
  }
  out.append(text.slice(at));
  return out;
}

function markdown(text) {
  const out = document.createDocumentFragment();
  const lines = text.split("\n");
  let list = null, code = null, paragraph = [];
  const flush = () => {
    if (paragraph.length) { const p = element("p"); p.append(inline(paragraph.join("\n"))); out.append(p); paragraph = []; }
  };
  for (const line of lines) {
    if (code !== null) {
      if (line.trim().startsWith("```")) { out.append(Object.assign(element("pre"), { textContent: code.join("\n") })); code = null; }
      else code.push(line);
      continue;
    }
    if (line.trim().startsWith("```")) { flush(); list = null; code = []; continue; }
    const item = line.match(/^\s*(?:[-*•]|(\d+)[.)])\s+(.*)$/);
    if (item) {
      flush();
      const kind = item[1] ? "ol" : "ul";
      if (!list || list.tagName.toLowerCase() !== kind) { list = element(kind); out.append(list); }
      const li = element("li"); li.append(inline(item[2])); list.append(li);
      continue;
    }
    list = null;
    if (!line.trim()) flush(); else paragraph.push(line);
  }
  if (code !== null) out.append(Object.assign(element("pre"), { textContent: code.join("\n") }));
  flush();
  return out;
}

// --- Sources and places ------------------------------------------------------------------------
// A PDF opens in the browser's viewer at its page; any other document as its text, the passage marked.
function documentLink(file, source, page, chunk, index) {
  const query = new URLSearchParams({ index: index || $("index").value });
  if (token) query.set("token", token);
  if (source.toLowerCase().endsWith(".pdf")) return `/files/${file}?${query}${page ? `#page=${page}` : ""}`;
  query.set("chunk", chunk ?? 0);
  return `/files/${file}?${query}#passage`;
}

function place(source, page, heading, ocr) {
  const name = source.split("/").pop();
  return `${name}${page ? `, p. ${page}` : ""}${heading ? ` — ${heading}` : ""}${ocr ? " (OCR)" : ""}`;
}

function sourceItem(s, label, index) {
  const item = element("li");
  const link = element("a", "", (label ? `[${label}] ` : "") + place(s.source, s.page, s.heading, s.ocr));
  link.href = documentLink(s.file, s.source, s.page, s.chunk, index);
  link.target = "_blank";
  link.rel = "noopener";
  item.append(link);
  if (s.supporting) item.append(element("span", "supporting", " — holds the answer; the model cited none"));
  if (s.text) {
    const details = element("details");
    details.append(element("summary", "", "passage"), element("p", "", s.text));
    item.append(details);
  }
  return item;
}

function evidenceBox(data, index, closest) {
  const box = element("blockquote", closest ? "evidence closest" : "evidence");
  box.append(element("span", "label", closest ? "Closest passage (it does not state the answer)" : "Your documents say"));
  box.append(document.createTextNode(data.text));
  const where = element("a", "where", place(data.source, data.page, data.heading, data.ocr));
  where.href = documentLink(data.file, data.source, data.page, data.chunk, index);
  where.target = "_blank";
  where.rel = "noopener";
  box.append(where);
  return box;
}

// --- A turn, drawn from what it holds (live, or restored from storage) ------------------------
function drawTurn(turn, index) {
  const section = element("section", "turn");
  section.append(element("div", "question", turn.question));
  if (turn.standalone) section.append(element("div", "rewrite", `Understood as: ${turn.standalone}`));
  const parts = { section, note: element("div", "queue"), evidence: null, answer: element("div", "answer") };
  section.append(parts.note);
  if (turn.evidence) { parts.evidence = evidenceBox(turn.evidence, index, turn.abstained); section.append(parts.evidence); }
  section.append(parts.answer);
  if (turn.done) finishTurn(parts, turn, index);
  else if (turn.answer) parts.answer.textContent = turn.answer;
  return parts;
}

function finishTurn(parts, turn, index) {
  parts.answer.replaceChildren(markdown(turn.answer));
  parts.answer.classList.toggle("abstained", !!turn.abstained);
  if (turn.extractive && !turn.summary) parts.answer.append(element("div", "extractive", "No drafted sentence passed the check: these are your documents' own words."));
  if (turn.evidence && turn.abstained && parts.evidence) {
    parts.evidence.replaceWith(parts.evidence = evidenceBox(turn.evidence, index, true));
  }
  if (turn.sources && turn.sources.length) {
    const list = element("ul", "sources");
    for (const s of turn.sources) list.append(sourceItem(s, s.n, index));
    parts.section.append(list);
  }
  if (turn.timings) parts.section.append(timingDetails(turn.timings));
  if (turn.stopped) parts.section.append(element("div", "meta", "Stopped."));
  parts.section.classList.add("done");
}

// Where a slow answer waited: each stage's time from the question, and what the model read and wrote.
const TIMED = [
  ["retrieve_ms", "passages found"], ["evidence_ms", "your documents' sentence found"],
  ["model_ready_ms", "model ready"], ["answerable_ms", "answerability checked"],
  ["first_token_ms", "model's first word"], ["ttft_ms", "first checked sentence shown"],
  ["total_ms", "done"],
];
function timingDetails(t) {
  const details = element("details", "timings");
  details.append(element("summary", "", `Where the time went (${((t.total_ms || t.summary_ms || 0) / 1000).toFixed(1)} s)`));
  const list = element("ul");
  for (const [key, label] of TIMED) {
    if (t[key] != null) list.append(element("li", "", `${(t[key] / 1000).toFixed(2)} s — ${label}`));
  }
  const counts = [];
  if (t.prompt_tokens_read != null) counts.push(`${t.prompt_tokens_read} prompt tokens read (the prompt: ${t.prompt_tokens})`);
  if (t.completion_tokens) counts.push(`${t.completion_tokens} written${t.tokens_per_s ? ` at ${t.tokens_per_s}/s` : ""}`);
  if (t.checks_ms) counts.push(`sentence checks ${(t.checks_ms / 1000).toFixed(2)} s`);
  if (counts.length) list.append(element("li", "", counts.join("; ")));
  details.append(list);
  return details;
}

// --- Conversations, kept in this browser --------------------------------------------------------
function load() {
  try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch { return []; }
}
function save() {
  localStorage.setItem(STORE, JSON.stringify(conversations));
  if (current) localStorage.setItem(`${STORE}-open`, current.id);
  drawConversationList();
}
function newConversation() {
  current = { id: `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, title: "", index: $("index").value, created: Date.now(), turns: [] };
  localStorage.setItem(`${STORE}-open`, current.id);
  $("conversation").replaceChildren();
  drawConversationList();
}
function openConversation(conversation) {
  stop();
  current = conversation;
  if (conversation.index && [...$("index").options].some((o) => o.value === conversation.index)) $("index").value = conversation.index;
  $("conversation").replaceChildren();
  for (const turn of conversation.turns) $("conversation").append(drawTurn(turn, conversation.index).section);
  save();
}
function drawConversationList() {
  const list = $("conversation-list");
  list.replaceChildren();
  for (const c of [...conversations].reverse()) {
    const item = element("li", c === current ? "open" : "");
    const title = element("span", "title", c.title || "(untitled)");
    title.title = new Date(c.created).toLocaleString();
    title.addEventListener("click", () => { openConversation(c); closePanelOnPhone(); });
    const rename = element("button", "", "Rename");
    rename.type = "button";
    rename.addEventListener("click", () => {
      const name = prompt("Name this conversation", c.title);
      if (name !== null && name.trim()) { c.title = name.trim(); save(); }
    });
    const exported = element("button", "", "Export");
    exported.type = "button";
    exported.addEventListener("click", () => exportMarkdown(c));
    const remove = element("button", "", "Delete");
    remove.type = "button";
    remove.addEventListener("click", () => {
      if (!confirm(`Delete the conversation "${c.title || "(untitled)"}"?`)) return;
      conversations = conversations.filter((x) => x !== c);
      if (c === current) newConversation();
      save();
    });
    item.append(title, rename, exported, remove);
    list.append(item);
  }
}
function exportMarkdown(c) {
  const lines = [`# ${c.title || "Conversation"}`, "", `Index: ${c.index}, ${new Date(c.created).toISOString()}`, ""];
  for (const t of c.turns) {
    lines.push(`## ${t.question}`, "");
    if (t.standalone) lines.push(`_Understood as: ${t.standalone}_`, "");
    lines.push(t.answer || "", "");
    for (const s of t.sources || []) lines.push(`- [${s.n}] ${place(s.source, s.page, s.heading, s.ocr)}`);
    lines.push("");
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/markdown" }));
  link.download = `${(c.title || "conversation").replace(/[^\p{L}\p{N}]+/gu, "-").slice(0, 60)}.md`;
  link.click();
  URL.revokeObjectURL(link.href);
}

// --- Indexes and documents -----------------------------------------------------------------------
async function loadIndexes() {
  const response = await fetch("/api/indexes", { headers: headers() });
  if (response.status === 401) { askForToken(await failure(response)); return; }
  if (!response.ok) { $("status").textContent = await failure(response); return; }
  const data = await response.json();
  const select = $("index");
  const wanted = select.value || (current && current.index) || data.default;
  select.replaceChildren();
  for (const index of data.indexes) {
    const option = element("option", "", `${index.name} (${index.files} files)`);
    option.value = index.name;
    option.selected = index.name === wanted;
    select.append(option);
  }
  if (!data.indexes.length) $("status").textContent = "No index yet. Run: rag ingest PATH";
}

async function loadDocuments() {
  if (!$("index").value) return;
  const response = await fetch(`/api/documents?${new URLSearchParams({ index: $("index").value })}`, { headers: headers() });
  if (!response.ok) { $("documents-status").textContent = await failure(response); return; }
  const data = await response.json();
  const pages = data.files.reduce((n, f) => n + (f.pages || 0), 0);
  $("documents-summary").textContent = `${data.files.length} files, ${pages} pages` +
    (data.pending_vectors ? `; ${data.pending_vectors} passages still being indexed` : "") + ". Tick files to ask about them only.";
  const list = $("document-list");
  list.replaceChildren();
  for (const f of data.files) {
    const item = element("li");
    const box = element("input");
    box.type = "checkbox";
    box.checked = scope.has(f.file);
    box.setAttribute("aria-label", `Ask about ${f.name} only`);
    box.addEventListener("change", () => { box.checked ? scope.add(f.file) : scope.delete(f.file); showScope(data.files); });
    const name = element("a", "title", f.name);
    name.href = documentLink(f.file, f.path, null, 0);
    name.target = "_blank";
    name.rel = "noopener";
    const how = Object.entries(f.read_by || {}).map(([by, n]) => (by === "ocr" ? `${n} by OCR` : null)).filter(Boolean);
    const meta = element("span", "meta hint", [f.pages ? `${f.pages} pages` : null, `${f.chunks} passages`, ...how,
      f.lost.length ? `${f.lost.length} page(s) not read: ${f.lost.map((l) => (l.page ? `p. ${l.page}` : "")).join(" ")}` : null].filter(Boolean).join(", "));
    const forget = element("button", "", "Forget");
    forget.type = "button";
    forget.addEventListener("click", () => forgetFile(f));
    item.append(box, name, forget, meta);
    list.append(item);
  }
  $("skipped-box").hidden = !data.skipped.length;
  $("skipped-title").textContent = `${data.skipped.length} file(s) not indexed`;
  $("skipped-list").replaceChildren(...data.skipped.map((s) => element("li", "skipped", `${s.path.split("/").pop()}: ${s.reason}`)));
  showScope(data.files);
}

function showScope(files) {
  const names = files.filter((f) => scope.has(f.file)).map((f) => f.name);
  $("scope-note").hidden = !names.length;
  $("scope-note").textContent = names.length ? `Questions go to ${names.join(", ")} only.` : "";
  $("question").placeholder = names.length ? `Ask about ${names.join(", ")}…` : "Ask a question about your documents… / שאלו שאלה על המסמכים…";
}

async function forgetFile(f) {
  if (!confirm(`Forget ${f.name}? Its passages leave the index; the file itself stays where it is.`)) return;
  const response = await fetch("/api/forget", {
    method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ index: $("index").value, file: f.file }),
  });
  $("documents-status").textContent = response.ok ? `Forgot ${f.name}.` : await failure(response);
  scope.delete(f.file);
  loadDocuments();
  loadIndexes();
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

// --- Asking --------------------------------------------------------------------------------------
function busy(on) {
  $("ask-button").hidden = on;
  $("stop-button").hidden = !on;
}

function stop() {
  if (running) { running.controller.abort(); running = null; }
  busy(false);
}

async function ask(question) {
  const conversation = current;
  const index = $("index").value;
  const turn = { question, answer: "", done: false };
  const parts = drawTurn(turn, index);
  $("conversation").append(parts.section);
  const controller = new AbortController();
  running = { controller, conversation };
  busy(true);
  const history = conversation.turns.filter((t) => t.done && !t.stopped).map((t) => [t.question, t.answer]);
  try {
    const response = await fetch("/api/ask", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ question, index, history, files: [...scope] }),
      signal: controller.signal,
    });
    if (!response.ok) { parts.answer.textContent = await failure(response); return; }
    for await (const [kind, data] of events(response)) {
      if (kind === "queue") parts.note.textContent = data.position ? `Waiting for the model: ${data.position} answer(s) ahead of you…` : "";
      else if (kind === "progress") parts.note.textContent = data.message;
      else if (kind === "rewrite") {
        turn.standalone = data.question;
        parts.section.insertBefore(element("div", "rewrite", `Understood as: ${data.question}`), parts.note);
      } else if (kind === "evidence") {
        parts.note.textContent = "";
        turn.evidence = data;
        parts.evidence = evidenceBox(data, index, false);
        parts.section.insertBefore(parts.evidence, parts.answer);
      } else if (kind === "text") {
        parts.note.textContent = "";
        turn.answer += data.text;
        parts.answer.textContent = turn.answer;
      } else if (kind === "error") parts.answer.textContent = data.message;
      else if (kind === "done") {
        Object.assign(turn, {
          answer: data.answer, abstained: data.abstained, extractive: data.extractive, done: true,
          summary: /^(Key points of|עיקרי) /.test(data.answer),
          sources: data.sources.filter((s) => data.shown_sources.includes(s.n)),
          timings: data.timings,
        });
        finishTurn(parts, turn, index);
        if (!conversation.title) conversation.title = question.slice(0, 80);
        conversation.turns.push(turn);
        if (!conversations.includes(conversation)) conversations.push(conversation);
        save();
      }
      parts.section.scrollIntoView({ block: "end" });
    }
  } catch (error) {
    if (error.name !== "AbortError") throw error;
    parts.note.textContent = "";
    if (conversation === current) {  // Stop: what was shown stays, marked as stopped, out of the history
      Object.assign(turn, { done: true, stopped: true, answer: turn.answer || "(stopped before the answer)" });
      finishTurn(parts, turn, index);
    } else parts.section.remove();
  } finally {
    if (running && running.controller === controller) { running = null; busy(false); }
  }
}

async function search(query) {
  const section = element("section", "turn");
  section.append(element("div", "question", query));
  $("conversation").append(section);
  const url = `/api/search?${new URLSearchParams([["q", query], ["index", $("index").value], ...[...scope].map((f) => ["file", f])])}`;
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) { section.append(element("div", "answer", await failure(response))); return; }
  const data = await response.json();
  const list = element("ol", "sources");
  for (const hit of data.hits) list.append(sourceItem(hit));
  section.append(data.hits.length ? list : element("div", "answer abstained", "No passage matches."));
  section.classList.add("done");
}

// --- Adding documents ----------------------------------------------------------------------------
const STAGES = { hash: "checking", parse: "reading", searchable: "searchable now:", embed: "indexing" };

async function followIngest(response, note, skipped, section) {
  for await (const [kind, data] of events(response)) {
    if (kind === "saved") note.textContent = `Saved ${data.files.length}; indexing…`;
    else if (kind === "progress") note.textContent = `${STAGES[data.stage] || data.stage} ${data.done}/${data.total}`;
    else if (kind === "skipped") skipped.append(element("li", "", `${data.path.split("/").pop()}: ${data.reason}`));
    else if (kind === "partial") skipped.append(element("li", "", `${data.path.split("/").pop()}: indexed without ${data.lost.map((p) => (p.page ? `page ${p.page}` : p.reason)).join(", ")}`));
    else if (kind === "error") { note.textContent = data.message; note.classList.add("skipped"); }
    else if (kind === "done") {
      note.textContent = `Added ${data.added}, updated ${data.changed}, unchanged ${data.unchanged}, skipped ${data.skipped.length}. Ready to ask.`;
      section.classList.add("done");
      loadIndexes();
      loadDocuments();
    }
  }
}

async function upload(files) {
  if (!files.length) return;
  const section = element("section", "turn");
  section.append(element("div", "question", `Adding ${files.length} document${files.length > 1 ? "s" : ""}: ${[...files].map((f) => f.name).join(", ")}`));
  const note = element("div", "queue", "Uploading…");
  const skipped = element("ul", "sources skipped");
  section.append(note, skipped);
  $("conversation").append(section);
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  let response;
  try {
    response = await fetch(`/api/ingest?${new URLSearchParams({ index: $("index").value })}`,
      { method: "POST", headers: headers({ "X-Rag-CSRF": csrf }), body: form });
  } catch (error) { note.textContent = `The upload failed: ${error.message}`; note.classList.add("skipped"); return; }
  if (!response.ok) { note.textContent = `The upload failed: ${await failure(response)}`; note.classList.add("skipped"); return; }
  await followIngest(response, note, skipped, section);
}

$("folder-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const path = $("folder-path").value.trim();
  if (!path) return;
  const note = $("documents-status");
  note.classList.remove("skipped");
  note.textContent = `Adding ${path}…`;
  const response = await fetch("/api/add-folder", {
    method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ index: $("index").value, path }),
  });
  if (!response.ok) { note.textContent = await failure(response); note.classList.add("skipped"); return; }
  const skipped = element("ul", "sources skipped");
  note.after(skipped);
  await followIngest(response, note, skipped, element("div"));
});

// --- The panel: conversations or documents; on a phone it opens over the page ------------------
function showTab(name) {
  for (const tab of ["conversations", "documents"]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`${tab}-panel`).hidden = tab !== name;
  }
  if (name === "documents") loadDocuments();
}
function closePanelOnPhone() {
  $("panel").classList.remove("open");
  $("panel-toggle").setAttribute("aria-expanded", "false");
}
$("tab-conversations").addEventListener("click", () => showTab("conversations"));
$("tab-documents").addEventListener("click", () => showTab("documents"));
$("panel-toggle").addEventListener("click", () => {
  const open = $("panel").classList.toggle("open");
  $("panel-toggle").setAttribute("aria-expanded", String(open));
});

$("files").addEventListener("change", () => { upload($("files").files); $("files").value = ""; });
document.addEventListener("dragover", (event) => { event.preventDefault(); $("drop").hidden = false; });
document.addEventListener("dragleave", (event) => { if (!event.relatedTarget) $("drop").hidden = true; });
document.addEventListener("drop", (event) => { event.preventDefault(); $("drop").hidden = true; upload(event.dataTransfer.files); });

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question || running) return;
  $("question").value = "";
  try {
    await ($("search-only").checked ? search(question) : ask(question));
  } catch (error) {
    $("status").textContent = `The server could not be reached: ${error.message}`;
  }
});
$("stop-button").addEventListener("click", stop);
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask-form").requestSubmit(); }
});
// New conversation while an answer streams: the answer stops, and nothing of it joins the new one.
$("new-conversation").addEventListener("click", () => { stop(); newConversation(); });
$("index").addEventListener("change", () => { stop(); scope.clear(); newConversation(); loadDocuments(); });

// A reload opens the conversation that was open; a question in the address (?q=…&index=…&search=1)
// is asked as the page opens: a question can be bookmarked or linked.
loadIndexes().then(() => {
  if (params.get("index")) $("index").value = params.get("index");
  const openId = localStorage.getItem(`${STORE}-open`);
  const last = conversations.find((c) => c.id === openId);
  if (last && !params.get("q")) openConversation(last); else newConversation();
  if (params.get("search")) $("search-only").checked = true;
  if (params.get("q")) return $("search-only").checked ? search(params.get("q")) : ask(params.get("q"));
});

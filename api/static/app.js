// The question page: POST /ask and render the answer, its citations and other reports.
// Every piece of text from the server goes in through textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { "X-API-Key": key } : {};
}

// Dates come as YYYY-MM-DD, or YYYY-MM / YYYY when the article gives no day.
function formatDate(iso) {
  if (!iso) return "undated";
  const parts = iso.split("-");
  const date = new Date(Date.UTC(Number(parts[0]), Number(parts[1] || 1) - 1, Number(parts[2] || 1)));
  if (Number.isNaN(date.getTime())) return iso;
  const shown = { year: "numeric", timeZone: "UTC" };
  if (parts.length > 1) shown.month = "long";
  if (parts.length > 2) shown.day = "numeric";
  return date.toLocaleDateString(undefined, shown);
}

// The cited sentence with the quantity wrapped in <mark>; offsets are into the document's
// cleaned text, so the quantity sits at quantity.start - citation.start inside the sentence.
function sentenceWithMark(citation, quantity) {
  const quote = el("blockquote", "quote");
  const text = citation.text;
  let from = -1;
  if (quantity) {
    const offset = quantity.start - citation.start;
    const inside = offset >= 0 && quantity.end <= citation.end;
    from = inside && text.slice(offset, offset + quantity.text.length) === quantity.text
      ? offset : text.indexOf(quantity.text);
  }
  if (from < 0) {
    quote.textContent = text;
    return quote;
  }
  const to = from + quantity.text.length;
  quote.append(text.slice(0, from), el("mark", null, text.slice(from, to)), text.slice(to));
  return quote;
}

// A cited table cell: its row line ("Revenue | 2004: 1,234 | 2003: 1,100") split back into the
// row header and its cells; offsets are into the cleaned text, so the cited cell lies at
// table.start - citation.start in the line. Null when the line does not read as such a row.
function rowCells(citation) {
  const text = citation.text;
  const cited = citation.table.start - citation.start;
  if (!text.startsWith(`${citation.table.row} | `)) return null;
  const cells = [];
  let at = citation.table.row.length + 3;
  for (const part of text.slice(at).split(" | ")) {
    const colon = part.indexOf(": ");
    if (colon < 0) return null;
    const start = at + colon + 2;
    const end = at + part.length;
    cells.push({ column: part.slice(0, colon), label: at, start, end, cited: start <= cited && cited < end });
    at = end + 3;
  }
  return cells.some((cell) => cell.cited) ? cells : null;
}

// The cited cell inside its row, under its column headers, with the number in <mark> (in the
// column header when the answer is the year a comparison chose).
function cellInRow(citation, quantity) {
  const cells = rowCells(citation);
  if (!cells) return sentenceWithMark(citation, quantity);
  const figure = el("figure", "cell-table");
  // the unit its figures are read in, where the caption does not state it ("(in thousands)")
  const { caption, unit } = citation.table;
  const named = [caption, unit && !(caption || "").includes(unit) ? unit : null].filter(Boolean);
  if (named.length) figure.append(el("figcaption", null, named.join(" · ")));
  const table = el("table");
  const headers = el("tr");
  headers.append(el("th", "corner"));
  const row = el("tr");
  const label = el("th", "row-header", citation.table.row);
  label.scope = "row";
  row.append(label);
  for (const cell of cells) {
    const header = el("th", cell.cited ? "cited-column" : null);
    header.scope = "col";
    // a compared year ("which year was X larger?") is the number of the cited cell's column header
    const inHeader = quantity && cell.cited ? quantity.start - citation.start - cell.label : -1;
    if (inHeader >= 0 && cell.column.slice(inHeader, inHeader + quantity.text.length) === quantity.text) {
      const to = inHeader + quantity.text.length;
      header.append(cell.column.slice(0, inHeader), el("mark", null, cell.column.slice(inHeader, to)),
        cell.column.slice(to));
    } else {
      header.textContent = cell.column;
    }
    headers.append(header);
    const value = citation.text.slice(cell.start, cell.end);
    const td = el("td", cell.cited ? "cited" : null);
    const from = quantity && cell.cited ? quantity.start - citation.start - cell.start : -1;
    if (from >= 0 && value.slice(from, from + quantity.text.length) === quantity.text) {
      const to = from + quantity.text.length;
      td.append(value.slice(0, from), el("mark", null, value.slice(from, to)), value.slice(to));
    } else {
      td.textContent = value;
    }
    row.append(td);
  }
  table.append(el("thead"), el("tbody"));
  table.tHead.append(headers);
  table.tBodies[0].append(row);
  figure.append(table);
  return figure;
}

function citedText(citation, quantity) {
  return citation.table ? cellInRow(citation, quantity) : sentenceWithMark(citation, quantity);
}

function sourceLine(citation) {
  const line = el("div", "source");
  line.append(el("span", "title", citation.title), el("span", "date", formatDate(citation.published)));
  const id = el("span", "doc-id", citation.doc_id);
  id.title = "document id";
  line.append(id);
  return line;
}

function renderCitation(citation, quantity) {
  const item = el("li", "citation");
  item.append(citedText(citation, quantity), sourceLine(citation));
  return item;
}

function renderAnswer(answer) {
  const card = el("article", "card answer");
  const head = el("div", "answer-head");
  const value = el("p", "value", answer.answer);
  value.id = "answer-value";
  head.append(value);
  if (answer.quantity && answer.quantity.qualifier) head.append(el("span", "badge", answer.quantity.qualifier));
  head.append(el("span", "badge muted", `confidence ${(answer.confidence * 100).toFixed(0)}%`));
  card.append(head, el("h2", "section-title", "Cited from"));
  const list = el("ol", "citations");
  answer.citations.forEach((citation, i) => list.append(renderCitation(citation, i === 0 ? answer.quantity : null)));
  card.append(list);
  if (answer.also_reported.length) card.append(renderAlsoReported(answer.also_reported));
  return card;
}

function renderAlsoReported(reports) {
  const box = el("section", "also");
  box.append(el("h2", "section-title", "Also reported"));
  const list = el("ul", "reports");
  for (const report of reports) {
    const item = el("li", "report");
    const head = el("div", "report-head");
    head.append(el("span", "report-value", report.answer), el("span", "date", formatDate(report.published)));
    item.append(head, citedText(report.citation, report.quantity), sourceLine(report.citation));
    list.append(item);
  }
  box.append(list);
  return box;
}

function renderAbstention(answer) {
  const card = el("article", "card abstained");
  card.append(el("p", "value", "No answer"), el("p", "reason", answer.reason || "the sources do not say"));
  if (answer.citations.length) {
    card.append(el("h2", "section-title", "Closest passages"));
    const list = el("ol", "citations");
    answer.citations.forEach((citation) => list.append(renderCitation(citation, null)));
    card.append(list);
  }
  return card;
}

function renderError(type, message) {
  const card = el("article", "card error");
  card.setAttribute("role", "alert");
  card.append(el("p", "error-type", type), el("p", "error-message", message));
  return card;
}

function askBody() {
  const body = { question: $("question").value, top_k: Number($("top-k").value) || 5 };
  const after = $("published-after").value;
  const before = $("published-before").value;
  if (after || before) {
    body.filters = {};
    if (after) body.filters.published_after = after;
    if (before) body.filters.published_before = before;
  }
  return body;
}

async function ask(event) {
  event.preventDefault();
  const result = $("result");
  const button = $("ask-button");
  button.disabled = true;
  result.replaceChildren(el("p", "pending", "Looking it up…"));
  try {
    const response = await fetch("/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(askBody()),
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (payload && payload.error) || { type: `HTTP ${response.status}`, message: response.statusText };
      result.replaceChildren(renderError(error.type, error.message));
    } else {
      result.replaceChildren(payload.abstained ? renderAbstention(payload) : renderAnswer(payload));
    }
  } catch (err) {
    result.replaceChildren(renderError("NetworkError", `the server could not be reached: ${err.message}`));
  } finally {
    button.disabled = false;
  }
}

async function showIndexStatus() {
  const status = $("index-status");
  try {
    const health = await (await fetch("/health")).json();
    if (health.index_loaded) {
      status.textContent = `${health.documents} articles · ${health.chunks} passages · model ${health.model}`;
    } else {
      status.textContent = health.message;
      status.classList.add("warning");
    }
  } catch (err) {
    status.textContent = "the server could not be reached";
    status.classList.add("warning");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  showIndexStatus();
});

// The simulator's phone: dials the gateway like Africa's Talking (form posts, cumulative text).
"use strict";
const $ = (id) => document.getElementById(id);
const state = { config: null, sessionId: null, entries: [], live: false, steps: [], code: "" };

function newSessionId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "SIM_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function showError(message) { $("error").textContent = message || ""; }

async function loadConfig() {
  const response = await fetch("/simulator/config");
  state.config = await response.json();
  const code = $("code");
  for (const entry of state.config.codes) {
    const option = document.createElement("option");
    option.value = entry.code;
    option.textContent = `${entry.code}  ${entry.title}`;
    code.append(option);
  }
  code.addEventListener("change", fillLanguages);
  fillLanguages();
}

function fillLanguages() {
  const select = $("language");
  select.length = 1;
  const entry = state.config.codes.find((c) => c.code === $("code").value);
  for (const language of entry ? entry.languages : []) {
    const option = document.createElement("option");
    option.value = language;
    option.textContent = language;
    select.append(option);
  }
}

function show(text, end, ms) {
  $("screen").textContent = text;
  const { used, limit, encoding } = ussdLength(text);
  const over = used > limit;
  const status = $("status");
  status.textContent = `${end ? "END" : "CON"} · ${used}/${limit} ${encoding} · ${Math.round(ms)} ms` +
    (over ? ` · ⚠ too long: over ${limit}` : "");
  status.classList.toggle("over", over);
  $("bar-state").textContent = end ? "ended" : "waiting for you";
  $("entry").disabled = end;
  if (!end) $("entry").focus();
}

async function post(text) {
  const form = new URLSearchParams({
    sessionId: state.sessionId,
    serviceCode: state.code,
    phoneNumber: $("phone").value.trim(),
    networkCode: "64004",
    text,
  });
  const started = performance.now();
  const response = await fetch(state.config.endpoint, { method: "POST", body: form });
  const body = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${body.trim()}`);
  for (const [prefix, end] of [["CON", false], ["END", true]]) {
    if (body === prefix) return { end, text: "", ms };
    if (body.startsWith(prefix + " ")) return { end, text: body.slice(prefix.length + 1), ms };
  }
  throw new Error(`reply does not start with CON or END: ${JSON.stringify(body.slice(0, 60))}`);
}

function record(send, reply) {
  const step = { expect: reply.text.split("\n")[0] };
  if (send === null) step.dial = state.code; else step.send = send;
  if (reply.end) step.end = true;
  state.steps.push(step);
  renderTranscript();
}

function renderTranscript() {
  // JSON strings are valid YAML double-quoted scalars.
  const q = (value) => JSON.stringify(value);
  const lines = [
    `# recorded in the web simulator on ${new Date().toISOString().slice(0, 10)}`,
    `code: ${q(state.code)}`,
  ];
  if ($("language").value) lines.push(`language: ${q($("language").value)}`);
  lines.push("steps:");
  for (const step of state.steps) {
    const first = step.dial !== undefined ? `dial: ${q(step.dial)}` : `send: ${q(step.send)}`;
    lines.push(`  - ${first}`, `    expect: ${q(step.expect)}`);
    if (step.end) lines.push("    end: true");
  }
  $("transcript").value = lines.join("\n") + "\n";
}

async function dial() {
  showError("");
  state.code = $("code").value;
  state.sessionId = newSessionId();
  state.entries = [];
  state.steps = [];
  state.live = true;
  $("bar-code").textContent = state.code;
  $("bar-state").textContent = "dialling…";
  const language = $("language").value;
  if (language) {
    const response = await fetch("/simulator/language", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ phone: $("phone").value.trim(), language }),
    });
    if (!response.ok) throw new Error((await response.text()).trim());
  }
  const reply = await post("");
  state.live = !reply.end;
  show(reply.text, reply.end, reply.ms);
  record(null, reply);
}

async function send() {
  const entry = $("entry").value;
  $("entry").value = "";
  state.entries.push(entry);
  $("bar-state").textContent = "sending…";
  const reply = await post(state.entries.join("*"));
  state.live = !reply.end;
  show(reply.text, reply.end, reply.ms);
  record(entry, reply);
}

function guarded(action) {
  return () => action().catch((error) => {
    state.live = false;
    $("bar-state").textContent = "failed";
    showError(error.message);
  });
}

function hangUp() {
  state.live = false;
  $("entry").value = "";
  $("entry").disabled = true;
  $("bar-state").textContent = "idle";
  $("screen").textContent = "Call ended.";
}

function press(key) {
  if (!state.live) return;
  $("entry").value += key;
}

async function copyTranscript() {
  const text = $("transcript").value;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    $("transcript").select();
    document.execCommand("copy");
  }
  $("copied").textContent = "copied";
  setTimeout(() => { $("copied").textContent = ""; }, 1500);
}

document.addEventListener("DOMContentLoaded", () => {
  loadConfig().catch((error) => showError(`cannot load the configuration: ${error.message}`));
  $("dial").addEventListener("click", guarded(() => (state.live ? send() : dial())));
  $("end").addEventListener("click", hangUp);
  $("clear").addEventListener("click", () => { $("entry").value = $("entry").value.slice(0, -1); });
  for (const button of document.querySelectorAll(".keypad button")) {
    button.addEventListener("click", () => press(button.dataset.key));
  }
  $("entry").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && state.live) guarded(send)();
  });
  $("copy").addEventListener("click", copyTranscript);
});

// Server-sent events over fetch (so the bearer token goes in a header, not the URL),
// reconnecting with jittered exponential backoff.
import { API, expired, token } from "./api.js";

/** Parse complete SSE blocks out of a buffer; returns [events, rest]. */
export function parseBlocks(buffer) {
  const events = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let type = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ type, data: data.join("\n") });
  }
  return [events, rest];
}

/**
 * Keep a stream open to the console's event endpoint.
 * onEvent(type, parsedData) is called per event; onState(bool) when the link goes up or down.
 * Returns a function that closes the stream for good.
 */
export function subscribe(onEvent, onState) {
  let closed = false;
  let controller = null;
  let delay = 1000;

  async function once() {
    controller = new AbortController();
    const resp = await fetch(`${API}/events`, {
      headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (resp.status === 401) {
      closed = true;
      expired();
      return;
    }
    if (!resp.ok || !resp.body) throw new Error(`events: ${resp.status}`);
    onState(true);
    delay = 1000;
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let events;
      [events, buffer] = parseBlocks(buffer + value);
      for (const ev of events) onEvent(ev.type, JSON.parse(ev.data));
    }
  }

  async function loop() {
    while (!closed) {
      try {
        await once();
      } catch (_) { /* reconnect below */ }
      onState(false);
      if (closed) return;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 30000);
    }
  }

  loop();
  return () => {
    closed = true;
    if (controller) controller.abort();
  };
}

// A minimal Server-Sent Events client over fetch: reads the body stream and parses
// `event:`/`data:` blocks, keeping every event in arrival order.
import { waitFor } from "./master.mjs";

/**
 * Opens `url` as an event stream. Resolves once the response headers arrived, with
 * `{ status, contentType, events, waitFor(pred, opts), close() }`; each event is
 * `{ event, data, id, json }` (`json` is `data` parsed, or undefined).
 */
export async function openEvents(url, { timeoutMs = 10_000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new Error(`no response from ${url} within ${timeoutMs} ms`),
      ),
    timeoutMs,
  );
  let res;
  try {
    res = await fetch(url, {
      headers: { accept: "text/event-stream" },
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
  const events = [];
  const stream = {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    events,
    error: undefined,
    ended: false,
    /** Resolves with the first event matching `pred` (looking at past ones too). */
    waitFor(pred, { timeoutMs: t = 30_000, what = "an event" } = {}) {
      return waitFor(() => events.find(pred), {
        timeoutMs: t,
        intervalMs: 25,
        what,
      });
    },
    close() {
      controller.abort();
    },
  };
  if (!res.ok || !res.body) {
    stream.ended = true;
    return stream;
  }
  const decoder = new TextDecoder();
  let buffer = "";
  let block = { event: "message", data: [], id: undefined };
  const dispatch = () => {
    if (block.data.length > 0) {
      const data = block.data.join("\n");
      let json;
      try {
        json = JSON.parse(data);
      } catch {
        json = undefined;
      }
      events.push({ event: block.event, data, id: block.id, json });
    }
    block = { event: "message", data: [], id: undefined };
  };
  const onLine = (line) => {
    if (line === "") return dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") block.event = value;
    else if (field === "data") block.data.push(value);
    else if (field === "id") block.id = value;
    return undefined;
  };
  (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
          onLine(line);
        }
      }
    } catch (e) {
      if (!controller.signal.aborted) stream.error = e;
    } finally {
      stream.ended = true;
    }
  })();
  return stream;
}
